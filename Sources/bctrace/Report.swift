/// A line of a table or plot: a hit ratio (%) per capacity.
struct Series: Sendable {
    let label: String
    /// Aligned with the report's `sizes`; nil where there is no figure.
    let values: [Double?]
    /// A figure from elsewhere (paper, chart, computed bound), not measured here.
    let published: Bool
    /// Read off a chart: shown with "≈".
    let approximate: Bool
}

/// What one trace's run measured, with the published figures beside it.
struct TraceReport: Sendable {
    let name: String
    let requests: Int
    let unique: Int
    /// Capacities in entries, ascending.
    let sizes: [Int]
    /// Ours first (one per policy), then the published rows.
    let series: [Series]
    let loadSeconds: Double
    let replaySeconds: Double
    let threads: Int
}

// MARK: - Number formatting (no Foundation)

/// `x` with exactly `digits` decimals, rounded half away from zero: "16.47", "-0.03".
func fixed(_ x: Double, _ digits: Int = 2) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(x) * scale).rounded()
    guard scaled < 9e15 else { return String(x) }
    let n = Int(scaled)
    let p = Int(scale)
    var s = String(n / p)
    if digits > 0 {
        let frac = String(n % p)
        s += "." + String(repeating: "0", count: digits - frac.count) + frac
    }
    return (x < 0 && n != 0 ? "-" : "") + s
}

/// The shortest decimal that reads back as `x`, without a trailing ".0": "25.5", "11".
func short(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
}

/// A capacity as people write it: "250", "1k", "25k", "1.5k" stays "1500".
func sizeLabel(_ n: Int) -> String {
    if n >= 1_000_000 && n % 1_000_000 == 0 { return "\(n / 1_000_000)M" }
    if n >= 1000 && n % 1000 == 0 { return "\(n / 1000)k" }
    return String(n)
}

/// `n` with thousands separators: "914,145".
func grouped(_ n: Int) -> String {
    let digits = Array(String(n.magnitude))
    var out = ""
    for (i, d) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(d)
    }
    return (n < 0 ? "-" : "") + out
}
