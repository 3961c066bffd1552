//! Decimal text to `f64` and back, exactly, without core's `dec2flt` and `flt2dec`.
//!
//! Those two are correct and fast, but carry large tables (powers of five, cached powers of
//! ten) and the Grisu/Dragon formatting machinery: about 15 KiB of wasm for two or three numbers
//! a minute. Here the rare hard case goes through a plain big integer instead: slower, but
//! exact, and a few hundred bytes.

use std::cmp::Ordering;

/// Parses a number in JSON grammar into the nearest `f64` (ties to even); `None` if it rounds
/// to infinity.
pub(super) fn parse(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let (negative, rest) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let mut digits: Vec<u8> = Vec::new();
    let mut exp10: i64 = 0;
    let mut i = 0;
    let mut in_fraction = false;
    while let Some(&b) = rest.get(i) {
        match b {
            b'0'..=b'9' => {
                if !(digits.is_empty() && b == b'0') {
                    digits.push(b);
                }
                exp10 -= i64::from(in_fraction);
            }
            b'.' => in_fraction = true,
            _ => break,
        }
        i += 1;
    }
    if matches!(rest.get(i), Some(b'e' | b'E')) {
        i += 1;
        let sign = match rest.get(i) {
            Some(b'-') => -1,
            Some(b'+') => 1,
            _ => 0,
        };
        i += usize::from(sign != 0);
        let mut e: i64 = 0;
        for &b in rest.get(i..).unwrap_or_default() {
            // Saturate: past a million, any exponent means zero or infinity alike.
            e = (e * 10 + i64::from(b.wrapping_sub(b'0'))).min(1_000_000);
        }
        exp10 += if sign < 0 { -e } else { e };
    }
    let x = from_decimal(&digits, exp10)?;
    Some(if negative { -x } else { x })
}

/// The `f64` nearest to `digits × 10^exp10` (`digits` ASCII, no leading zero); `None` when it
/// rounds to infinity.
fn from_decimal(digits: &[u8], mut exp10: i64) -> Option<f64> {
    let trailing_zeros = digits.iter().rev().take_while(|&&d| d == b'0').count();
    let digits = &digits[..digits.len() - trailing_zeros];
    exp10 += trailing_zeros as i64;
    let magnitude = digits.len() as i64 + exp10; // the value is below 10^magnitude
    if digits.is_empty() || magnitude < -330 {
        return Some(0.0); // below half the smallest subnormal
    }
    if magnitude > 310 {
        return None;
    }
    // Clinger's fast path: both factors exact in f64, so one rounding, the right one.
    if digits.len() <= 15 && exp10.abs() <= 22 {
        let w = digits.iter().fold(0u64, |w, &d| w * 10 + u64::from(d - b'0')) as f64;
        let p = (0..exp10.abs()).fold(1.0, |p, _| p * 10.0);
        return Some(if exp10 < 0 { w / p } else { w * p });
    }
    let mut num = Big(vec![0]);
    for &d in digits {
        num.mul_small(10);
        num.add_small(u32::from(d - b'0'));
    }
    let mut den = Big(vec![1]);
    if exp10 >= 0 {
        num.mul_pow10(exp10 as u32);
    } else {
        den.mul_pow10(exp10.unsigned_abs() as u32);
    }
    // Scale so that 1 <= num/den < 2; the value is then num/den × 2^-shift.
    let mut shift = i64::from(den.bits()) - i64::from(num.bits());
    if shift > 0 {
        num.shl(shift as u32);
    } else {
        den.shl(shift.unsigned_abs() as u32);
    }
    if num.cmp(&den) == Ordering::Less {
        num.shl(1);
        shift += 1;
    }
    // 64 quotient bits, top bit set, then whether anything was left over.
    let mut q: u64 = 0;
    for _ in 0..64 {
        q <<= 1;
        if num.cmp(&den) != Ordering::Less {
            num.sub(&den);
            q |= 1;
        }
        num.shl(1);
    }
    let sticky = !num.is_zero();
    round(q, -63 - shift, sticky)
}

/// `q × 2^e2` (plus a little more when `sticky`), `q` with its top bit set, rounded to the
/// nearest `f64`, ties to even; `None` on overflow.
fn round(q: u64, e2: i64, sticky: bool) -> Option<f64> {
    // Keep 53 bits, or fewer for a subnormal (whose exponent stops at -1074).
    let drop = (-1074 - e2).clamp(11, 127) as u32;
    let wide = u128::from(q);
    let mut m = (wide >> drop) as u64;
    let rest = wide & ((1u128 << drop) - 1);
    let half = 1u128 << (drop - 1);
    if rest > half || (rest == half && (sticky || m & 1 == 1)) {
        m += 1;
    }
    if m == 0 {
        return Some(0.0);
    }
    let mut e = e2 + i64::from(drop);
    if m == 1 << 53 {
        m >>= 1;
        e += 1;
    }
    if e > 971 {
        return None;
    }
    // With m < 2^53, the hidden bit carries into the exponent field: one formula for normal
    // numbers, subnormals (e = -1074, m < 2^52) and the step between them.
    Some(f64::from_bits((((e + 1074) as u64) << 52) + m))
}

/// A non-negative big integer, little-endian base 2^32: just the operations above need.
struct Big(Vec<u32>);

impl Big {
    fn mul_small(&mut self, factor: u32) {
        let mut carry = 0u64;
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(factor) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn add_small(&mut self, n: u32) {
        let mut carry = u64::from(n);
        for limb in &mut self.0 {
            let v = u64::from(*limb) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut k: u32) {
        while k >= 9 {
            self.mul_small(1_000_000_000);
            k -= 9;
        }
        self.mul_small(10u32.pow(k));
    }

    fn trim(&mut self) {
        while self.0.len() > 1 && self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.iter().all(|&l| l == 0)
    }

    /// Number of significant bits.
    fn bits(&self) -> u32 {
        let Some(top) = self.0.iter().rposition(|&l| l != 0) else { return 0 };
        top as u32 * 32 + (32 - self.0[top].leading_zeros())
    }

    fn shl(&mut self, n: u32) {
        let (limbs, bits) = ((n / 32) as usize, n % 32);
        if bits > 0 {
            let mut carry = 0;
            for limb in &mut self.0 {
                let v = *limb;
                *limb = (v << bits) | carry;
                carry = v >> (32 - bits);
            }
            if carry != 0 {
                self.0.push(carry);
            }
        }
        self.0.splice(0..0, std::iter::repeat_n(0, limbs));
    }

    fn cmp(&self, other: &Big) -> Ordering {
        let len = self.0.len().max(other.0.len());
        for i in (0..len).rev() {
            let (a, b) =
                (self.0.get(i).copied().unwrap_or(0), other.0.get(i).copied().unwrap_or(0));
            if a != b {
                return a.cmp(&b);
            }
        }
        Ordering::Equal
    }

    /// `self -= other`, for `other <= self`.
    fn sub(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let v = i64::from(*limb) - i64::from(other.0.get(i).copied().unwrap_or(0)) - borrow;
            *limb = v as u32; // wraps by 2^32 when negative
            borrow = i64::from(v < 0);
        }
        self.trim();
    }
}
