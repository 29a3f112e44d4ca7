//! Writes the viewer's embedded data: the layout is in the parent module's
//! docs, and `assets/viewer/model.js` decodes it.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::model::{PollEnd, StrId, Trace};

/// Writes `s` as a JSON string that is safe inside a `<script>` element.
pub(crate) fn write_str<W: Write>(w: &mut W, s: &str) -> io::Result<()> {
    w.write_all(b"\"")?;
    let mut plain = 0;
    for (i, c) in s.char_indices() {
        let escape: Option<&[u8]> = match c {
            '"' => Some(b"\\\""),
            '\\' => Some(b"\\\\"),
            '/' => Some(b"\\/"),
            '<' => Some(b"\\u003c"),
            '>' => Some(b"\\u003e"),
            '&' => Some(b"\\u0026"),
            '\n' => Some(b"\\n"),
            '\r' => Some(b"\\r"),
            '\t' => Some(b"\\t"),
            '\u{2028}' => Some(b"\\u2028"),
            '\u{2029}' => Some(b"\\u2029"),
            _ => None,
        };
        if let Some(escape) = escape {
            w.write_all(&s.as_bytes()[plain..i])?;
            w.write_all(escape)?;
            plain = i + c.len_utf8();
        } else if (c as u32) < 0x20 {
            w.write_all(&s.as_bytes()[plain..i])?;
            write!(w, "\\u{:04x}", c as u32)?;
            plain = i + 1;
        }
    }
    w.write_all(&s.as_bytes()[plain..])?;
    w.write_all(b"\"")
}

/// Writes `"key":` then the column: one number if all values are equal,
/// else an array (of deltas, if `delta`).
fn column<W: Write>(w: &mut W, key: &str, values: &[i64], delta: bool) -> io::Result<()> {
    write!(w, ",\"{key}\":")?;
    if let Some(&first) = values.first() {
        if values.iter().all(|&v| v == first) {
            return write!(w, "{first}");
        }
    }
    w.write_all(b"[")?;
    let mut prev = 0;
    for (i, &v) in values.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        write!(w, "{}", if delta { v - prev } else { v })?;
        prev = v;
    }
    w.write_all(b"]")
}

fn float_column<W: Write>(w: &mut W, key: &str, values: &[f64]) -> io::Result<()> {
    write!(w, ",\"{key}\":[")?;
    for (i, &v) in values.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        if v.fract() == 0.0 && v.abs() < 1e15 {
            write!(w, "{}", v as i64)?;
        } else {
            write!(w, "{v}")?;
        }
    }
    w.write_all(b"]")
}

fn id(s: StrId) -> i64 {
    s.index() as i64
}

/// Writes the viewer's data object for `trace`.
pub(crate) fn write_data<W: Write>(w: &mut W, trace: &Trace, title: &str) -> io::Result<()> {
    let t0 = trace.start;
    write!(w, "{{\"v\":1,\"title\":")?;
    write_str(w, title)?;
    write!(
        w,
        ",\"t0\":{},\"span\":{},\"events\":{}",
        t0 as f64 / 1000.0,
        trace.span_ns(),
        trace.events
    )?;

    w.write_all(b",\"strings\":[")?;
    for (i, s) in trace.strings.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        write_str(w, s)?;
    }
    w.write_all(b"],\"ends\":[")?;
    for (i, end) in PollEnd::ALL.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        write!(w, "\"{end}\"")?;
    }
    w.write_all(b"]")?;

    w.write_all(b",\"tracks\":[")?;
    let mut col = Vec::new();
    for (ti, track) in trace.tracks.iter().enumerate() {
        if ti > 0 {
            w.write_all(b",")?;
        }
        w.write_all(b"{\"name\":")?;
        write_str(w, &trace.track_label(track))?;
        write!(
            w,
            ",\"pid\":{},\"tid\":{},\"slices\":{{\"n\":{}",
            track.pid,
            track.tid,
            track.slices.len()
        )?;
        let slices = &track.slices;
        let mut emit = |key: &str, delta: bool, f: &dyn Fn(&crate::model::Slice) -> i64| {
            col.clear();
            col.extend(slices.iter().map(f));
            column(w, key, &col, delta)
        };
        emit("t", true, &|s| s.start - t0)?;
        emit("d", false, &|s| s.dur)?;
        emit("g", false, &|s| s.g.map_or(-1, |g| g as i64))?;
        emit("m", true, &|s| s.m.map_or(-1, |m| m as i64))?;
        emit("e", false, &|s| {
            s.end.map_or(-1, |e| {
                PollEnd::ALL.iter().position(|&x| x == e).unwrap_or(0) as i64
            })
        })?;
        emit("s", false, &|s| id(s.spawn))?;
        emit("nm", false, &|s| match s.g {
            Some(g) if trace.str(s.name).strip_prefix('G') == Some(g.to_string().as_str()) => 0,
            _ => id(s.name),
        })?;
        emit("c", false, &|s| id(s.cat))?;
        emit("x", false, &|s| id(s.extra))?;
        w.write_all(b"},\"marks\":[")?;

        // Instants grouped by name, so the viewer culls each kind on its own.
        let mut groups: BTreeMap<StrId, Vec<usize>> = BTreeMap::new();
        for (i, inst) in track.instants.iter().enumerate() {
            groups.entry(inst.name).or_default().push(i);
        }
        for (gi, (name, members)) in groups.iter().enumerate() {
            if gi > 0 {
                w.write_all(b",")?;
            }
            write!(w, "{{\"name\":{},\"n\":{}", id(*name), members.len())?;
            col.clear();
            col.extend(members.iter().map(|&i| track.instants[i].ts - t0));
            column(w, "t", &col, true)?;
            col.clear();
            col.extend(members.iter().map(|&i| id(track.instants[i].args)));
            column(w, "a", &col, false)?;
            w.write_all(b"}")?;
        }
        w.write_all(b"]}")?;
    }
    w.write_all(b"]")?;

    w.write_all(b",\"counters\":[")?;
    for (ci, counter) in trace.counters.iter().enumerate() {
        if ci > 0 {
            w.write_all(b",")?;
        }
        let track = counter
            .tid
            .and_then(|tid| {
                trace
                    .tracks
                    .iter()
                    .position(|t| t.pid == counter.pid && t.tid == tid)
            })
            .map_or(-1, |i| i as i64);
        w.write_all(b"{\"label\":")?;
        write_str(w, &counter.label)?;
        write!(w, ",\"track\":{track},\"n\":{}", counter.samples.len())?;
        col.clear();
        col.extend(counter.samples.iter().map(|s| s.0 - t0));
        column(w, "t", &col, true)?;
        let values: Vec<f64> = counter.samples.iter().map(|s| s.1).collect();
        float_column(w, "v", &values)?;
        w.write_all(b"}")?;
    }
    w.write_all(b"]")?;

    write!(w, ",\"flows\":{{\"n\":{}", trace.flows.len())?;
    let flows = &trace.flows;
    let mut emit = |key: &str, delta: bool, f: &dyn Fn(&crate::model::Flow) -> i64| {
        col.clear();
        col.extend(flows.iter().map(f));
        column(w, key, &col, delta)
    };
    emit("t", true, &|f| f.from_ts - t0)?;
    emit("d", false, &|f| f.to_ts - f.from_ts)?;
    emit("ft", false, &|f| f.from_track as i64)?;
    emit("tt", false, &|f| f.to_track as i64)?;
    w.write_all(b"}}")
}
