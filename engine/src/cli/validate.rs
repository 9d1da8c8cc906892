//! `tocsin validate PATH…`: located diagnostics for runbooks; non-zero exit on error.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::runbook::{KnownActions, NoPluginActions, PluginActions};

use super::{ConfigArgs, OutputFormat};

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Runbook files or directories (recursively: .yaml, .yml, .json).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// `text` for people, `json` for CI.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// With a configuration directory, plugin actions (`instance:action`) are checked against
    /// the instances it defines and their input schemas.
    #[command(flatten)]
    config: ConfigArgs,
}

pub async fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let host = super::plugin::build_host(&args.config, false).await?;
    let known: Box<dyn KnownActions> = match &host {
        Some(host) => Box::new(host.action_schemas().into_iter().collect::<PluginActions>()),
        None => Box::new(NoPluginActions),
    };
    let report = crate::runbook::validate_paths(&args.paths, known.as_ref());
    match args.format {
        OutputFormat::Text => {
            let color = std::io::IsTerminal::is_terminal(&std::io::stdout());
            print!("{}", report.render_human_styled(color));
        }
        OutputFormat::Json => println!("{}", report.render_json()),
    }
    Ok(if report.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
