//! The control-flow graph of a runbook: which step can follow which, for reachability, cycle
//! and "has this step run yet" (forward reference) checks.

use super::model::{Action, Document, OnCancel, OnFailure, Step};
use std::collections::{HashMap, VecDeque};

pub(crate) struct Graph<'d> {
    pub steps: Vec<&'d Step>,
    /// Index of the `aws:loop` step a step is nested in.
    pub parent: Vec<Option<usize>>,
    /// Normal-flow successors (next, nextStep, branch choices, loop body/iteration).
    pub next: Vec<Vec<usize>>,
    /// Failure and cancel successors.
    pub other: Vec<Vec<usize>>,
    /// The step can end the execution successfully.
    pub ends: Vec<bool>,
    index: HashMap<&'d str, usize>,
    by_ptr: HashMap<*const Step, usize>,
}

impl<'d> Graph<'d> {
    pub fn new(doc: &'d Document) -> Self {
        let mut g = Graph {
            steps: Vec::new(),
            parent: Vec::new(),
            next: Vec::new(),
            other: Vec::new(),
            ends: Vec::new(),
            index: HashMap::new(),
            by_ptr: HashMap::new(),
        };
        g.collect(&doc.main_steps, None);
        for (i, s) in g.steps.iter().enumerate() {
            g.index.entry(s.name.as_str()).or_insert(i);
        }
        g.next = vec![Vec::new(); g.steps.len()];
        g.other = vec![Vec::new(); g.steps.len()];
        g.ends = vec![false; g.steps.len()];
        g.link(&doc.main_steps, None);
        g
    }

    fn collect(&mut self, seq: &'d [Step], parent: Option<usize>) {
        for s in seq {
            let i = self.steps.len();
            self.steps.push(s);
            self.by_ptr.insert(std::ptr::from_ref(s), i);
            self.parent.push(parent);
            if let Action::Loop(l) = &s.action {
                self.collect(&l.steps, Some(i));
            }
        }
    }

    pub fn lookup(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The graph index of a step of the document.
    fn position(&self, step: &Step) -> Option<usize> {
        self.by_ptr.get(&std::ptr::from_ref(step)).copied()
    }

    fn link(&mut self, seq: &'d [Step], parent: Option<usize>) {
        for (k, s) in seq.iter().enumerate() {
            let Some(i) = self.position(s) else { continue };
            // Where the normal flow goes after this step, absent nextStep/isEnd.
            let fallthrough: Option<usize> = match seq.get(k + 1) {
                Some(n) => self.position(n),
                None => parent, // end of a loop body: back to the loop; of mainSteps: the end
            };
            let default_next = |g: &Self| -> (Option<usize>, bool) {
                if s.is_end {
                    return (None, true);
                }
                if let Some(t) = &s.next_step {
                    return (g.lookup(t), false);
                }
                (fallthrough, fallthrough.is_none())
            };
            let (dn, dn_ends) = default_next(self);
            match &s.action {
                Action::Branch(b) => {
                    for c in &b.choices {
                        if let Some(t) = self.lookup(&c.next_step) {
                            self.next[i].push(t);
                        }
                    }
                    if let Some(t) = b.default.as_deref().and_then(|d| self.lookup(d)) {
                        self.next[i].push(t);
                    }
                    if s.is_end {
                        self.ends[i] = true;
                    }
                }
                Action::Loop(l) => {
                    if let Some(first) = l.steps.first().and_then(|f| self.position(f)) {
                        self.next[i].push(first);
                    }
                    if let Some(t) = dn {
                        self.next[i].push(t);
                    }
                    self.ends[i] |= dn_ends;
                    self.link(&l.steps, Some(i));
                }
                _ => {
                    if let Some(t) = dn {
                        self.next[i].push(t);
                    }
                    self.ends[i] |= dn_ends;
                }
            }
            match &s.on_failure {
                OnFailure::Abort => {}
                OnFailure::Continue => {
                    if let Some(t) = dn {
                        self.other[i].push(t);
                    }
                }
                OnFailure::Step(t) => {
                    if let Some(t) = self.lookup(t) {
                        self.other[i].push(t);
                    }
                }
            }
            if let OnCancel::Step(t) = &s.on_cancel
                && let Some(t) = self.lookup(t)
            {
                self.other[i].push(t);
            }
        }
    }

    /// Steps reachable from the first step (all edges).
    pub fn reachable(&self) -> Vec<bool> {
        let mut seen = vec![false; self.steps.len()];
        if self.steps.is_empty() {
            return seen;
        }
        let mut queue = VecDeque::from([0usize]);
        seen[0] = true;
        while let Some(i) = queue.pop_front() {
            for &j in self.next[i].iter().chain(&self.other[i]) {
                if !seen[j] {
                    seen[j] = true;
                    queue.push_back(j);
                }
            }
        }
        seen
    }

    /// Steps that can run after `from` has run (paths of length ≥ 1, all edges).
    pub fn after(&self, from: usize) -> Vec<bool> {
        let mut seen = vec![false; self.steps.len()];
        let mut queue = VecDeque::new();
        let start = |seen: &mut Vec<bool>, q: &mut VecDeque<usize>, j: usize| {
            if !seen[j] {
                seen[j] = true;
                q.push_back(j);
            }
        };
        for &j in self.next[from].iter().chain(&self.other[from]) {
            start(&mut seen, &mut queue, j);
        }
        while let Some(i) = queue.pop_front() {
            for &j in self.next[i].iter().chain(&self.other[i]) {
                start(&mut seen, &mut queue, j);
            }
        }
        seen
    }

    /// Strongly connected components of the normal-flow graph that no normal flow can leave:
    /// a run that enters one never ends. Each is returned in step order.
    pub fn cycles_without_exit(&self) -> Vec<Vec<usize>> {
        let comps = scc(&self.next);
        let mut comp_of = vec![0; self.steps.len()];
        for (c, members) in comps.iter().enumerate() {
            for &m in members {
                comp_of[m] = c;
            }
        }
        let mut out = Vec::new();
        for (c, members) in comps.into_iter().enumerate() {
            let cyclic = members.len() > 1 || self.next[members[0]].contains(&members[0]);
            if !cyclic {
                continue;
            }
            let exits = members.iter().any(|&m| {
                self.ends[m]
                    || self.next[m].iter().any(|&t| comp_of[t] != c)
                    || matches!(self.steps[m].action, Action::Branch(ref b) if b.default.is_none())
            });
            if !exits {
                let mut members = members;
                members.sort_unstable();
                out.push(members);
            }
        }
        out
    }
}

/// Iterative Tarjan.
fn scc(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = adj.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut comps = Vec::new();
    let mut counter = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(&mut (v, ref mut ei)) = work.last_mut() {
            if *ei == 0 && index[v] == usize::MAX {
                index[v] = counter;
                low[v] = counter;
                counter += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = adj[v].get(*ei) {
                *ei += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                comps.push(comp);
            }
        }
    }
    comps
}

#[cfg(test)]
mod tests {
    use super::super::load::parse_document;
    use super::*;

    fn graph_of(yaml: &str) -> Document {
        parse_document(yaml).document.expect("document")
    }

    #[test]
    fn scc_finds_cycles() {
        let adj = vec![vec![1], vec![2], vec![0], vec![3], vec![]];
        let mut comps: Vec<Vec<usize>> = scc(&adj)
            .into_iter()
            .map(|mut c| {
                c.sort();
                c
            })
            .collect();
        comps.sort();
        assert_eq!(comps, vec![vec![0, 1, 2], vec![3], vec![4]]);
    }

    #[test]
    fn linear_flow_and_reachability() {
        let doc = graph_of(
            "schemaVersion: '0.3'\nmainSteps:\n  - {name: A, action: aws:pause, nextStep: C}\n  - {name: B, action: aws:pause}\n  - {name: C, action: aws:pause}\n",
        );
        let g = Graph::new(&doc);
        assert_eq!(g.next[0], vec![2]);
        assert_eq!(g.next[1], vec![2]);
        assert!(g.ends[2]);
        assert_eq!(g.reachable(), vec![true, false, true]);
        assert_eq!(g.after(0), vec![false, false, true]);
    }

    #[test]
    fn cycles_with_and_without_exit() {
        let doc = graph_of(
            "schemaVersion: '0.3'\nmainSteps:\n  - {name: A, action: aws:pause}\n  - {name: B, action: aws:pause, nextStep: A}\n",
        );
        assert_eq!(Graph::new(&doc).cycles_without_exit(), vec![vec![0, 1]]);
        let doc = graph_of(
            "schemaVersion: '0.3'\nmainSteps:\n  - {name: A, action: aws:pause}\n  - name: B\n    action: aws:branch\n    inputs:\n      Choices: [{NextStep: A, Variable: x, StringEquals: x}]\n      Default: C\n  - {name: C, action: aws:pause}\n",
        );
        assert!(Graph::new(&doc).cycles_without_exit().is_empty());
    }

    #[test]
    fn loops_link_body_and_exit() {
        let doc = graph_of(
            "schemaVersion: '0.3'\nmainSteps:\n  - name: L\n    action: aws:loop\n    inputs:\n      Iterators: [a]\n      Steps:\n        - {name: X, action: aws:pause}\n        - {name: Y, action: aws:pause}\n  - {name: Z, action: aws:pause}\n",
        );
        let g = Graph::new(&doc);
        assert_eq!(
            g.steps.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["L", "X", "Y", "Z"]
        );
        assert_eq!(g.next[0], vec![1, 3]);
        assert_eq!(g.next[2], vec![0]);
        assert_eq!(g.parent[1], Some(0));
        assert!(g.cycles_without_exit().is_empty());
        assert!(g.after(1)[2] && g.after(2)[1]);
    }
}
