#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Draws a ``TraceReport`` as a hand-written SVG line chart: hit ratio (%) against
/// capacity, one solid line per measured policy and one dashed line per published
/// series (short dashes for figures read off a chart), axes with ticks, a legend.
enum SVGPlot {
    // Layout, in SVG user units (px).
    static let width = 860.0
    static let height = 460.0
    static let left = 64.0, right = 300.0, top = 52.0, bottom = 56.0
    static var plotWidth: Double { width - left - right }
    static var plotHeight: Double { height - top - bottom }

    /// Measured policies: strong colours, so they stand out against the references.
    static let ourColors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"]
    /// Published series: muted and dashed, one colour per family in every plot.
    static let familyColors: [(prefix: String, color: String)] = [
        ("LRU", "#555555"), ("ARC", "#8c564b"), ("W-TinyLFU", "#bcbd22"), ("S3-FIFO", "#e377c2"), ("OPT", "#999999"),
    ]
    static let spareColors = ["#17a589", "#a0522d", "#6b8e23", "#4682b4"]

    /// The family's colour, or a spare one when the family's is taken (two W-TinyLFU rows).
    private static func publishedColor(_ label: String, avoiding used: Set<String>) -> String {
        if let family = familyColors.first(where: { label.hasPrefix($0.prefix) }), !used.contains(family.color) {
            return family.color
        }
        return spareColors.first { !used.contains($0) } ?? "#777777"
    }

    static func render(_ report: TraceReport) -> String {
        let sizes = report.sizes
        // Capacities usually span a decade or more: a log axis keeps small ones apart.
        let logScale = (sizes.max() ?? 1) >= 4 * (sizes.min() ?? 1)
        let xOf = xMapping(sizes, log: logScale)
        let allValues = report.series.flatMap { $0.values.compactMap { $0 } }
        let yMax = min(100, max(10, ((allValues.max() ?? 0) + 2) / 10).rounded(.up) * 10)
        let yStep = yMax <= 30 ? 5.0 : 10.0
        func yOf(_ v: Double) -> Double { top + plotHeight * (1 - v / yMax) }

        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" \
        viewBox="0 0 \(n(width)) \(n(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(n(left))" y="22" font-size="16" font-weight="bold">\(escape(report.name)): hit ratio by capacity</text>
        <text x="\(n(left))" y="40" fill="#555">\(grouped(report.requests)) requests, \(grouped(report.unique)) unique keys; \
        solid: BlockCache (this run), dashed: README (short dashes, ≈: read off a chart)</text>

        """
        // Grid and y ticks.
        var v = 0.0
        while v <= yMax + 1e-9 {
            let y = yOf(v)
            svg += "<line x1=\"\(n(left))\" y1=\"\(n(y))\" x2=\"\(n(left + plotWidth))\" y2=\"\(n(y))\" stroke=\"#e5e5e5\"/>\n"
            svg += "<line x1=\"\(n(left - 5))\" y1=\"\(n(y))\" x2=\"\(n(left))\" y2=\"\(n(y))\" stroke=\"black\"/>\n"
            svg += "<text x=\"\(n(left - 8))\" y=\"\(n(y + 4))\" text-anchor=\"end\">\(short(v))</text>\n"
            v += yStep
        }
        // x ticks at the measured capacities.
        for s in sizes {
            let x = xOf(s)
            svg += "<line x1=\"\(n(x))\" y1=\"\(n(top))\" x2=\"\(n(x))\" y2=\"\(n(top + plotHeight))\" stroke=\"#f0f0f0\"/>\n"
            svg += "<line x1=\"\(n(x))\" y1=\"\(n(top + plotHeight))\" x2=\"\(n(x))\" y2=\"\(n(top + plotHeight + 5))\" stroke=\"black\"/>\n"
            svg += "<text x=\"\(n(x))\" y=\"\(n(top + plotHeight + 19))\" text-anchor=\"middle\">\(sizeLabel(s))</text>\n"
        }
        // Axes and their labels.
        svg += "<path d=\"M\(n(left)),\(n(top)) V\(n(top + plotHeight)) H\(n(left + plotWidth))\" fill=\"none\" stroke=\"black\"/>\n"
        svg += "<text x=\"\(n(left + plotWidth / 2))\" y=\"\(n(height - 14))\" text-anchor=\"middle\">"
            + "capacity (entries\(logScale ? ", log scale" : ""))</text>\n"
        svg += "<text transform=\"translate(18,\(n(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">hit ratio (%)</text>\n"

        // Series, then the legend in the same order.
        var legendY = top + 8
        let legendX = left + plotWidth + 24
        svg += "<text x=\"\(n(legendX))\" y=\"\(n(legendY))\" font-weight=\"bold\">policy</text>\n"
        legendY += 20
        // Drawn in layers: references first, so the measured lines stay visible where
        // they coincide (lru on the README's LRU); markers above the lines.
        var layers = ["", "", "", ""]  // published lines, published marks, our lines, our marks
        var legend = ""
        var ours = 0, publishedColorsUsed: Set<String> = []
        for s in report.series {
            let color: String
            if s.published {
                color = publishedColor(s.label, avoiding: publishedColorsUsed)
                publishedColorsUsed.insert(color)
            } else {
                color = ourColors[ours % ourColors.count]
                ours += 1
            }
            let layer = s.published ? 0 : 2
            let dash = !s.published ? "" : s.approximate ? " stroke-dasharray=\"2 4\"" : " stroke-dasharray=\"7 4\""
            let strokeWidth = s.published ? "1.6" : "2.4"
            // A run of consecutive figures is one polyline; a gap (nil) breaks the line.
            var run: [(Double, Double)] = []
            func flush() {
                if run.count > 1 {
                    let points = run.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
                    layers[layer] += "<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(color)\" "
                        + "stroke-width=\"\(strokeWidth)\"\(dash)/>\n"
                }
                run = []
            }
            for (size, value) in zip(sizes, s.values) {
                guard let value else { flush(); continue }
                let p = (xOf(size), yOf(value))
                run.append(p)
                layers[layer + 1] += s.published
                    ? "<rect x=\"\(n(p.0 - 2.5))\" y=\"\(n(p.1 - 2.5))\" width=\"5\" height=\"5\" fill=\"white\" stroke=\"\(color)\"/>\n"
                    : "<circle cx=\"\(n(p.0))\" cy=\"\(n(p.1))\" r=\"3.2\" fill=\"\(color)\"/>\n"
            }
            flush()
            let label = (s.approximate ? "≈ " : "") + s.label + (s.published ? "" : " (BlockCache)")
            legend += "<line x1=\"\(n(legendX))\" y1=\"\(n(legendY - 4))\" x2=\"\(n(legendX + 28))\" y2=\"\(n(legendY - 4))\" "
                + "stroke=\"\(color)\" stroke-width=\"\(strokeWidth)\"\(dash)/>\n"
            legend += "<text x=\"\(n(legendX + 36))\" y=\"\(n(legendY))\">\(escape(label))</text>\n"
            legendY += 18
        }
        svg += layers.joined() + legend
        svg += "</svg>\n"
        return svg
    }

    /// Capacity → x, with a margin so the end points sit inside the frame.
    private static func xMapping(_ sizes: [Int], log: Bool) -> (Int) -> Double {
        func t(_ s: Int) -> Double { log ? log10(Double(max(s, 1))) : Double(s) }
        var lo = t(sizes.min() ?? 1), hi = t(sizes.max() ?? 1)
        if hi - lo < 1e-9 {  // one capacity: centre it
            lo -= 1
            hi += 1
        }
        let pad = (hi - lo) * 0.05
        lo -= pad
        hi += pad
        let x0 = left, w = plotWidth
        return { s in x0 + w * (t(s) - lo) / (hi - lo) }
    }

    /// A coordinate with one decimal: keeps the file small.
    private static func n(_ x: Double) -> String { fixed(x, 1) }

    private static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
