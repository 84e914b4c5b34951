//! `report.html`: one self-contained page (inline SVG charts drawn by plotters, inline CSS, no
//! script, no request) that shows in ten seconds whether a release is balanced. Every chart
//! carries the figures it draws as a table (`data-stat` names the `stats.json` field), so a
//! test can hold the plots to the numbers.

use std::fmt::Write;

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::stats::{Dist, Stats};

/// One chart: a name (the `stats.json` field), a title, labelled values.
struct Chart<'a> {
    stat: &'a str,
    title: &'a str,
    unit: &'a str,
    items: Vec<(String, f64)>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A horizontal bar chart as SVG text.
fn bars(chart: &Chart<'_>) -> Result<String, String> {
    let mut svg = String::new();
    {
        let height = (70 + 24 * chart.items.len()).max(150) as u32;
        let root = SVGBackend::with_string(&mut svg, (760, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let max = chart.items.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max).max(1e-9) * 1.08;
        let n = chart.items.len().max(1);
        let label_width = chart.items.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(4).clamp(4, 48) as u32 * 7 + 12;
        let mut c = ChartBuilder::on(&root)
            .caption(chart.title, ("sans-serif", 17))
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(label_width)
            .build_cartesian_2d(0.0..max, (0..n).into_segmented())
            .map_err(|e| e.to_string())?;
        let items = &chart.items;
        c.configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            // The first item at the top.
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) if *i < n => items.get(n - 1 - *i).map(|x| x.0.clone()).unwrap_or_default(),
                _ => String::new(),
            })
            .x_desc(chart.unit)
            .draw()
            .map_err(|e| e.to_string())?;
        c.draw_series(items.iter().enumerate().map(|(i, (_, v))| {
            let row = n - 1 - i;
            let mut bar = Rectangle::new(
                [(0.0, SegmentValue::Exact(row)), (*v, SegmentValue::Exact(row + 1))],
                RGBColor(58, 110, 165).mix(0.85).filled(),
            );
            bar.set_margin(3, 3, 0, 0);
            bar
        }))
        .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

fn figure(out: &mut String, chart: &Chart<'_>) {
    let svg = bars(chart).unwrap_or_else(|e| format!("<p class=\"error\">chart failed: {}</p>", esc(&e)));
    let _ = write!(
        out,
        "<figure data-stat=\"{}\"><figcaption>{}</figcaption>{svg}<details><summary>figures</summary><table class=\"data\"><tbody>",
        chart.stat,
        esc(chart.title)
    );
    for (label, v) in &chart.items {
        let value = if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.3}") };
        let _ = write!(out, "<tr><th>{}</th><td>{value}</td></tr>", esc(label));
    }
    out.push_str("</tbody></table></details></figure>\n");
}

fn counts<'a>(m: impl IntoIterator<Item = (&'a String, &'a u64)>) -> Vec<(String, f64)> {
    m.into_iter().map(|(k, v)| (k.clone(), *v as f64)).collect()
}

fn hist(d: &Dist) -> Vec<(String, f64)> {
    d.histogram.iter().map(|(lo, hi, n)| (format!("{lo}–{}", hi - 1), *n as f64)).collect()
}

/// The page.
pub fn html(stats: &Stats, title: &str, summary: &[(String, String)]) -> String {
    let mut by_pattern: Vec<(String, f64)> = stats.patterns.iter().map(|(p, s)| (p.clone(), s.rows as f64)).collect();
    by_pattern.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut pattern_pass: Vec<(String, f64)> = stats
        .patterns
        .iter()
        .map(|(p, s)| (p.clone(), s.stages.get("tests").map_or(1.0, |t| (t.rate() * 1000.0).round() / 1000.0)))
        .collect();
    pattern_pass.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let charts = [
        Chart { stat: "by_category", title: "Rows per category", unit: "rows", items: counts(&stats.by_category) },
        Chart { stat: "by_difficulty", title: "Rows per difficulty", unit: "rows", items: counts(&stats.by_difficulty) },
        Chart { stat: "by_task", title: "Rows per task", unit: "rows", items: counts(&stats.by_task) },
        Chart {
            stat: "top_tags",
            title: "Most common tags",
            unit: "rows",
            items: stats.top_tags.iter().map(|(t, n)| (t.clone(), *n as f64)).collect(),
        },
        Chart {
            stat: "prompt_tokens",
            title: "Prompt length (user turn)",
            unit: "rows per token-count bin",
            items: hist(&stats.prompt_tokens),
        },
        Chart {
            stat: "answer_tokens",
            title: "Answer length (assistant turn)",
            unit: "rows per token-count bin",
            items: hist(&stats.answer_tokens),
        },
        Chart {
            stat: "stages",
            title: "Pass rate per stage (all candidates)",
            unit: "share of runs passed",
            items: stats.stages.iter().map(|(s, pf)| (s.clone(), (pf.rate() * 1000.0).round() / 1000.0)).collect(),
        },
        Chart {
            stat: "patterns.tests",
            title: "Test pass rate per pattern (lowest first)",
            unit: "share of test runs passed",
            items: pattern_pass,
        },
        Chart { stat: "by_pattern", title: "Rows per pattern", unit: "rows", items: by_pattern },
        Chart { stat: "rejections", title: "Rejected candidates per stage", unit: "candidates", items: counts(&stats.rejections) },
        Chart {
            stat: "near_duplicate_similarity",
            title: "Similarity of near-duplicates rejected (Jaccard)",
            unit: "candidates",
            items: stats.near_duplicate_similarity.iter().map(|(lo, hi, n)| (format!("{lo:.3}–{hi:.3}"), *n as f64)).collect(),
        },
        Chart {
            stat: "decontamination.by_benchmark",
            title: "Decontamination hits per benchmark",
            unit: "candidates and rows removed",
            items: stats
                .decontamination
                .benchmarks
                .iter()
                .map(|b| (b.clone(), *stats.decontamination.by_benchmark.get(b).unwrap_or(&0) as f64))
                .collect(),
        },
    ];
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n<title>{t}</title>\n<style>{CSS}</style></head><body>\n<h1>{t}</h1>\n<dl class=\"summary\">",
        t = esc(title)
    );
    for (k, v) in summary {
        let _ = write!(out, "<div><dt>{}</dt><dd>{}</dd></div>", esc(k), esc(v));
    }
    out.push_str("</dl>\n<main>\n");
    for c in &charts {
        figure(&mut out, c);
    }
    out.push_str("</main>\n<h2>Top rejection reasons</h2>\n<table class=\"reasons\"><thead><tr><th>count</th><th>stage</th><th>reason</th></tr></thead><tbody>");
    for (stage, reason, n) in &stats.top_reasons {
        let _ = write!(out, "<tr><td>{n}</td><td>{}</td><td>{}</td></tr>", esc(stage), esc(reason));
    }
    out.push_str("</tbody></table>\n</body></html>\n");
    out
}

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1600px;color:#1d2329;padding:0 1rem}\
h1{font-size:1.5rem}dl.summary{display:flex;flex-wrap:wrap;gap:.5rem 2rem}dl.summary div{min-width:9rem}dt{color:#5b6670;font-size:.8rem}dd{margin:0;font-weight:600}\
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(780px,1fr));gap:1rem}figure{margin:0;border:1px solid #dde3e8;border-radius:6px;padding:.5rem}\
figcaption{font-weight:600}figure svg{max-width:100%;height:auto}details{font-size:.85rem}table.data td{text-align:right;padding-left:1rem}\
table.reasons{border-collapse:collapse;width:100%}table.reasons td,table.reasons th{border-bottom:1px solid #e5e9ec;padding:.25rem .5rem;text-align:left;vertical-align:top}";
