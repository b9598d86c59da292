//! Numbers as the screen writes them: token counts with thousands separators
//! (`1,203`), compact counts for the context meter (`12.4k`, `128k`), dollars
//! (`$0.0123`) and how long a model thought (`14 s`, `2 min 5 s`).
//!
//! Shared by the reply headers, the status line and `tinychat list`, so one figure
//! reads the same everywhere.

/// `1203` → `1,203`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `950` → `950`, `12_400` → `12.4k`, `128_000` → `128k`, `1_048_576` → `1.05M`: three
/// significant figures at most, trailing zeros dropped.
pub fn compact(n: u64) -> String {
    #[allow(
        clippy::cast_precision_loss,
        reason = "three significant figures are shown"
    )]
    let (value, unit) = match n {
        0..=999 => return n.to_string(),
        1_000..=999_999 => (n as f64 / 1_000.0, "k"),
        _ => (n as f64 / 1_000_000.0, "M"),
    };
    let decimals = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    format!("{text}{unit}")
}

/// Dollars with enough digits to tell small costs apart: `$0.0042`, `$0.13`, `$12.40`.
pub fn dollars(amount: f64) -> String {
    if amount == 0.0 {
        "$0".to_owned()
    } else if amount < 0.01 {
        format!("${amount:.4}")
    } else if amount < 1.0 {
        format!("${amount:.3}")
    } else {
        format!("${amount:.2}")
    }
}

/// How long something took: `under 1 s`, `14 s`, `2 min 5 s`.
pub fn duration_ms(ms: u64) -> String {
    if ms < 1_000 {
        return "under 1 s".to_owned();
    }
    let secs = (ms + 500) / 1_000;
    if secs < 60 {
        format!("{secs} s")
    } else {
        format!("{} min {} s", secs / 60, secs % 60)
    }
}

/// `1 token`, `1,203 tokens`.
pub fn tokens(n: u64) -> String {
    if n == 1 {
        "1 token".to_owned()
    } else {
        format!("{} tokens", grouped(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_203), "1,203");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(tokens(1), "1 token");
        assert_eq!(tokens(1_024), "1,024 tokens");
    }

    #[test]
    fn the_meter_writes_three_figures_at_most() {
        assert_eq!(compact(950), "950");
        assert_eq!(compact(12_400), "12.4k");
        assert_eq!(compact(12_449), "12.4k");
        assert_eq!(compact(128_000), "128k");
        assert_eq!(compact(200_000), "200k");
        assert_eq!(compact(1_000), "1k");
        assert_eq!(compact(1_500), "1.5k");
        assert_eq!(compact(1_048_576), "1.05M");
        assert_eq!(compact(2_000_000), "2M");
    }

    #[test]
    fn dollars_keep_small_costs_readable() {
        assert_eq!(dollars(0.0), "$0");
        assert_eq!(dollars(0.00423), "$0.0042");
        assert_eq!(dollars(0.1314), "$0.131");
        assert_eq!(dollars(12.4), "$12.40");
    }

    #[test]
    fn durations_read_like_a_person_says_them() {
        assert_eq!(duration_ms(400), "under 1 s");
        assert_eq!(duration_ms(14_200), "14 s");
        assert_eq!(duration_ms(125_000), "2 min 5 s");
    }
}
