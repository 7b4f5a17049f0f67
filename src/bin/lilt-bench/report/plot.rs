//! PNG bar chart of a compare run: one panel per scenario, one bar per server, throughput on
//! the y axis. Text uses DejaVu Sans from Debian's fonts-dejavu-core, loaded at run time.

use std::path::Path;

use plotters::prelude::*;
use serde_json::Value;

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

pub fn draw(rows: &[Value], png: &Path) -> Result<(), BenchError> {
    register_font()?;
    let mut scenarios: Vec<&str> = Vec::new();
    let mut targets: Vec<&str> = Vec::new();
    for r in rows {
        let (s, t) = (
            r["scenario"].as_str().unwrap_or("?"),
            r["target"].as_str().unwrap_or("?"),
        );
        if !scenarios.contains(&s) {
            scenarios.push(s);
        }
        if !targets.contains(&t) {
            targets.push(t);
        }
    }
    let cols = scenarios.len().clamp(1, 3);
    let lines = scenarios.len().div_ceil(cols).max(1);
    let root = BitMapBackend::new(png, (420 * cols as u32, 320 * lines as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let panels = root.split_evenly((lines, cols));
    for (panel, scenario) in panels.iter().zip(&scenarios) {
        let values: Vec<(usize, f64, &str)> = targets
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                rows.iter()
                    .find(|r| r["scenario"] == *scenario && r["target"] == *t)
                    .map(|r| {
                        (
                            i,
                            r["ops_per_s"].as_f64().unwrap_or(0.0),
                            r["unit"].as_str().unwrap_or(""),
                        )
                    })
            })
            .collect();
        let unit = values.first().map(|v| v.2).unwrap_or("");
        let max = values.iter().map(|v| v.1).fold(1.0, f64::max) * 1.15;
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{scenario}: {unit}/s"), ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d((0..targets.len()).into_segmented(), 0.0..max)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => {
                    targets.get(*i).map(|s| s.to_string()).unwrap_or_default()
                }
                _ => String::new(),
            })
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        let palette = [
            RGBColor(31, 119, 180),
            RGBColor(255, 127, 14),
            RGBColor(44, 160, 44),
        ];
        for (i, v, _) in &values {
            let color = palette[i % palette.len()];
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [
                        (SegmentValue::Exact(*i), 0.0),
                        (SegmentValue::Exact(i + 1), *v),
                    ],
                    color.filled(),
                )))
                .map_err(err)?;
        }
    }
    root.present().map_err(err)
}
