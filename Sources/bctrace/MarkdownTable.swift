/// Renders a ``TraceReport`` as a markdown section: a heading, a table with one row
/// per series (measured here, then the README's) and one column per capacity, and
/// the time taken.
enum MarkdownTable {
    static func render(_ report: TraceReport) -> String {
        var out = "## \(report.name)\n\n"
        out += "\(grouped(report.requests)) requests, \(grouped(report.unique)) unique keys. "
        out += "Hit ratio in % (cold misses included) by capacity in entries; ≈ = read off a chart.\n\n"
        out += "| policy | source | " + report.sizes.map(sizeLabel).joined(separator: " | ") + " |\n"
        out += "|---|---|" + String(repeating: "---:|", count: report.sizes.count) + "\n"
        for s in report.series {
            let source = s.published ? "README" : "BlockCache"
            out += "| \(s.label) | \(source) | " + s.values.map { cell($0, s) }.joined(separator: " | ") + " |\n"
        }
        let runs = report.sizes.count * report.series.filter { !$0.published }.count
        out += "\nload \(fixed(report.loadSeconds)) s; replay \(runs) runs in \(fixed(report.replaySeconds)) s"
        out += " on \(report.threads) thread\(report.threads == 1 ? "" : "s")\n"
        return out
    }

    private static func cell(_ value: Double?, _ s: Series) -> String {
        guard let value else { return "" }
        if s.approximate { return "≈" + short(value) }
        return fixed(value)
    }
}
