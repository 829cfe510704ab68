//! The PNG chart of `cargo xtask bench`: one panel per headline figure, a bar for each server that ran
//! it (the median of the rounds), so that the comparison reads at a glance. Drawn with plotters; the text uses a
//! TrueType font found on the machine (DejaVu Sans where it is installed).

use crate::bench::{Row, SERVERS};
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::{Path, PathBuf};

/// The colour of each server of [`SERVERS`], in order: ours (two shades), socketioxide, Node, floor.
const COLOURS: [RGBColor; 5] = [
    RGBColor(206, 66, 43),
    RGBColor(232, 140, 110),
    RGBColor(70, 110, 190),
    RGBColor(68, 136, 62),
    RGBColor(120, 120, 120),
];

/// Draws the headline figures of `results` (each scenario's first `charted` figures) to `path`.
pub(crate) fn draw(path: &Path, results: &[Row], quick: bool) -> Result<(), String> {
    register_font()?;
    let panels: Vec<(&str, &str, bool, Vec<f64>)> = results
        .iter()
        .flat_map(|row| {
            row.scenario.figures.iter().take(row.scenario.charted).map(
                move |(key, label, lower_is_better)| {
                    let values = (0..SERVERS.len())
                        .map(|i| row.figure(i, key).map_or(f64::NAN, |(median, _, _)| median))
                        .collect();
                    (row.scenario.name, *label, *lower_is_better, values)
                },
            )
        })
        .collect();
    if panels.is_empty() {
        return Ok(());
    }
    let columns = panels.len().clamp(1, 3);
    let rows = panels.len().div_ceil(columns);
    let size = (560 * columns as u32, 60 + 380 * rows as u32);
    let root = BitMapBackend::new(path, size).into_drawing_area();
    let failed = |e: &dyn std::fmt::Display| e.to_string();
    root.fill(&WHITE).map_err(|e| failed(&e))?;
    let (top, body) = root.split_vertically(60);
    let title = format!(
        "cargo xtask bench: ours vs socketioxide, Node and the websocket floor, one server core{}",
        if quick { " (quick smoke loads)" } else { "" }
    );
    top.draw_text(&title, &("sans-serif", 24).into_font().color(&BLACK), (20, 18)).map_err(|e| failed(&e))?;
    for (area, (scenario, label, lower_is_better, values)) in
        body.split_evenly((rows, columns)).iter().zip(panels)
    {
        let top_value = values.iter().copied().filter(|v| v.is_finite()).fold(0.0, f64::max);
        let top_value = if top_value.is_finite() && top_value > 0.0 { top_value * 1.3 } else { 1.0 };
        let (head, plot) = area.split_vertically(48);
        let text = |size| ("sans-serif", size).into_font().color(&BLACK);
        head.draw_text(&format!("{scenario}: {label}"), &text(16), (12, 6)).map_err(|e| failed(&e))?;
        let ours = if values[0].is_finite() { values[0] } else { values[1] };
        let ratio =
            |i: usize| if values[i].is_finite() { format!("{:.2}", ours / values[i]) } else { "—".into() };
        let verdict = format!(
            "{} is better; ours / socketioxide {}, / floor {}, / Node {}",
            if lower_is_better { "lower" } else { "higher" },
            ratio(2),
            ratio(4),
            ratio(3)
        );
        head.draw_text(&verdict, &text(14), (12, 27)).map_err(|e| failed(&e))?;
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..SERVERS.len() as f64, 0f64..top_value)
            .map_err(|e| failed(&e))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(5)
            .y_label_formatter(&|v| short(*v))
            .draw()
            .map_err(|e| failed(&e))?;
        let bars: Vec<(f64, f64, RGBColor, &str)> = SERVERS
            .iter()
            .enumerate()
            .map(|(i, server)| (i as f64, values[i], COLOURS[i % COLOURS.len()], server.key))
            .collect();
        chart
            .draw_series(bars.iter().filter(|bar| bar.1.is_finite()).map(|&(x, value, colour, _)| {
                Rectangle::new([(x + 0.2, 0.0), (x + 0.8, value)], colour.filled())
            }))
            .map_err(|e| failed(&e))?;
        chart
            .draw_series(bars.iter().filter(|bar| bar.1.is_finite()).map(|&(x, value, _, name)| {
                Text::new(name.to_string(), (x + 0.05, value + top_value * 0.12), ("sans-serif", 13))
            }))
            .map_err(|e| failed(&e))?;
        chart
            .draw_series(bars.iter().filter(|bar| bar.1.is_finite()).map(|&(x, value, _, _)| {
                Text::new(short(value), (x + 0.05, value + top_value * 0.06), ("sans-serif", 13))
            }))
            .map_err(|e| failed(&e))?;
    }
    root.present().map_err(|e| failed(&e))
}

/// A figure in a few characters: 12.3, 4567, 12.3k, 4.5M.
fn short(v: f64) -> String {
    match v.abs() {
        x if x.is_nan() => "n/a".into(),
        x if x >= 1e6 => format!("{:.1}M", v / 1e6),
        x if x >= 1e4 => format!("{:.1}k", v / 1e3),
        x if x >= 100.0 => format!("{v:.0}"),
        _ => format!("{v:.1}"),
    }
}

/// Registers a TrueType font as plotters' "sans-serif" (it draws no text without one).
fn register_font() -> Result<(), String> {
    let font =
        find_font().ok_or("no TrueType font found under /usr/share/fonts (install fonts-dejavu-core)")?;
    let bytes = std::fs::read(&font).map_err(|e| format!("cannot read {}: {e}", font.display()))?;
    // plotters keeps fonts for the life of the process.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| format!("{} is not a usable font", font.display()))
}

/// DejaVu Sans where it is, else the first `.ttf` found.
fn find_font() -> Option<PathBuf> {
    let preferred = PathBuf::from("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
    if preferred.is_file() {
        return Some(preferred);
    }
    let mut dirs = vec![PathBuf::from("/usr/share/fonts"), PathBuf::from("/usr/local/share/fonts")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("ttf")) {
                return Some(path);
            }
        }
    }
    None
}
