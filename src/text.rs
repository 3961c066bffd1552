//! Whole numbers as text, without `core::fmt`.
//!
//! `format!` pulls the formatting machinery and one argument table per call site into the
//! widget; every text the widget shows is built by concatenation instead, with these.

/// `n` in decimal: `1234` → `"1234"`.
pub fn decimal(n: u64) -> String {
    let mut out = String::new();
    push_decimal(&mut out, n);
    out
}

/// Appends `n` in decimal.
pub fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// `n` with at least two digits, as `{:02}` writes it: `7` → `"07"`, `42` → `"42"`, `123` → `"123"`.
pub fn two_digits(n: u64) -> String {
    let mut out = String::new();
    if n < 10 {
        out.push('0');
    }
    push_decimal(&mut out, n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_format_writes_them() {
        for n in [0, 7, 10, 99, 100, 1_775_462_400_000, u64::MAX] {
            assert_eq!(decimal(n), n.to_string());
            assert_eq!(two_digits(n), format!("{n:02}"));
        }
    }
}
