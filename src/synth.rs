//! placeholder
pub fn run(_g: &crate::cli::GenerateArgs) -> anyhow::Result<()> {
    Ok(())
}
