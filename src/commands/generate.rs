//! `audit-scan generate`: a realistic synthetic audit log (see [`crate::synth`]).

use std::fs::File;
use std::io::{BufWriter, Write};

use anyhow::{Context, Result};

use crate::cli::generate::GenerateArgs;
use crate::error::EXIT_OK;
use crate::synth::{SynthConfig, generate, parse_size};
use crate::timefmt::{parse_duration, parse_rfc3339};

/// `audit-scan generate`.
///
/// # Errors
/// Bad arguments or a write failure.
pub fn run(g: &GenerateArgs) -> Result<u8> {
    let duration = g
        .duration
        .as_deref()
        .map(|d| parse_duration(d).map_err(|e| anyhow::anyhow!("invalid --duration: {e}")))
        .transpose()?;
    if !(g.rate.is_finite() && g.rate > 0.0) {
        anyhow::bail!(
            "invalid --rate '{}': give requests per second above 0",
            g.rate
        );
    }
    let cfg = SynthConfig {
        bytes: parse_size(&g.size).map_err(anyhow::Error::msg)?,
        duration,
        seed: g.seed,
        nodes: g.nodes,
        start: parse_rfc3339(&g.start)
            .with_context(|| format!("invalid --start '{}': use RFC 3339", g.start))?,
        rate: g.rate,
        plants: Vec::new(),
        timed_plants: g.plant.clone(),
        bodies: g.bodies,
        heartbeats: true,
    };
    let name = g.output.to_string_lossy().to_string();
    if name == "-" {
        super::to_stdout(|mut w| generate(&cfg, &mut w).map(|_| ()))
            .context("cannot write to stdout")?;
        return Ok(EXIT_OK);
    }
    let file = File::create(&g.output).with_context(|| format!("cannot create {name}"))?;
    let file = BufWriter::with_capacity(1 << 20, file);
    let extension = g.output.extension();
    let (events, _) = if extension.is_some_and(|e| e == "gz") {
        let mut w = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        let n = generate(&cfg, &mut w)?;
        w.finish()?.flush()?;
        n
    } else if extension.is_some_and(|e| e == "zst") {
        let mut w = zstd::stream::write::Encoder::new(file, 3)?;
        let n = generate(&cfg, &mut w)?;
        w.finish()?.flush()?;
        n
    } else {
        let mut w = file;
        let n = generate(&cfg, &mut w)?;
        w.flush()?;
        n
    };
    eprintln!("audit-scan: wrote {events} events to {name}");
    Ok(EXIT_OK)
}
