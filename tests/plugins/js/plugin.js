// A Tocsin action plugin written in JavaScript, built with componentize-js (npm) by build.mjs.
import { log, config } from 'tocsin:plugin/host@0.1.0';

const SUM_IN = { type: 'object', required: ['values'], properties: { values: { type: 'array', items: { type: 'number' } } } };
const SUM_OUT = { type: 'object', required: ['sum'], properties: { sum: { type: 'number' } } };

export function describe() {
  return {
    name: 'jsadder',
    version: '0.1.0',
    description: 'Adds numbers, from JavaScript',
    actions: [{ name: 'sum', description: 'Add numbers', inputSchema: JSON.stringify(SUM_IN), outputSchema: JSON.stringify(SUM_OUT) }],
    configSchema: '{"type":"object"}',
    requests: { http: [], tcp: [], secrets: [] },
  };
}

export function invoke(ctx, action, input) {
  const data = JSON.parse(input);
  if (action !== 'sum') {
    throw { tag: 'invalid-input', val: `unknown action ${action}` };
  }
  const sum = data.values.reduce((a, b) => a + b, 0);
  log('info', `summed ${data.values.length} values for ${ctx.invocationId}`);
  return JSON.stringify({ sum });
}
