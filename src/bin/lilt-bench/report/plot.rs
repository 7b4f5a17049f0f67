//! PNG bar chart of a compare run: one panel per scenario (see `report::panels`), one bar per
//! server with its value printed on top. Text uses DejaVu Sans from Debian's
//! fonts-dejavu-core, loaded at run time so the binary ships no font.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;

use super::{panels, Panel};
use crate::error::BenchError;

const FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

fn err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Setup(format!("plot: {e}"))
}

fn register_font() -> Result<(), BenchError> {
    let bytes = std::fs::read(FONT_PATH).map_err(|e| {
        err(format!(
            "{FONT_PATH}: {e} (apt-get install fonts-dejavu-core)"
        ))
    })?;
    // Registered fonts must live for the whole program; this runs once per report.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| err("font not usable"))
}

fn color(target: &str) -> RGBColor {
    match target {
        "prosody" => RGBColor(31, 119, 180),
        "lilt" => RGBColor(255, 127, 14),
        "ws-echo" => RGBColor(140, 140, 140),
        _ => RGBColor(44, 160, 44),
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &Panel,
) -> Result<(), BenchError>
where
    DB::ErrorType: 'static,
{
    let max = panel.bars.iter().map(|b| b.1).fold(1.0, f64::max) * 1.15;
    // A continuous x axis with one unit per bar; each bar is labelled "server value" on
    // top, which also works for a single bar (a segmented axis of one slot does not).
    let slots = panel.bars.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 17))
        .margin(10)
        .x_label_area_size(6)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..slots, 0.0..max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    for (i, (target, v)) in panel.bars.iter().enumerate() {
        let x = i as f64;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x + 0.15, 0.0), (x + 0.85, *v)],
                color(target).filled(),
            )))
            .map_err(err)?;
        let value = if *v >= 100.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        };
        chart
            .draw_series(std::iter::once(Text::new(
                format!("{target} {value}"),
                (x + 0.5, *v),
                ("sans-serif", 13)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
            )))
            .map_err(err)?;
    }
    Ok(())
}

pub fn draw(rows: &[Value], png: &Path) -> Result<(), BenchError> {
    register_font()?;
    let panels = panels(rows);
    let cols = panels.len().clamp(1, 3);
    let lines = panels.len().div_ceil(cols).max(1);
    let root = BitMapBackend::new(png, (400 * cols as u32, 300 * lines as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    for (area, panel) in root.split_evenly((lines, cols)).iter().zip(&panels) {
        draw_panel(area, panel)?;
    }
    root.present().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draw_writes_a_png_with_one_panel_per_scenario() {
        if !Path::new(FONT_PATH).exists() {
            eprintln!("skipped: {FONT_PATH} missing");
            return;
        }
        let rows = vec![
            serde_json::json!({"scenario": "iq", "target": "prosody", "ops_per_s": 10.0, "extra": {}}),
            serde_json::json!({"scenario": "login", "target": "lilt", "ops_per_s": 5.0, "extra": {}}),
        ];
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("b.png");
        draw(&rows, &png).unwrap();
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    }
}
