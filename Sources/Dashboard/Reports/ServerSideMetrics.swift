/// The Cassandra side of a run, for the report: a `nodetool tablestats`-like table per table of the keyspace and
/// node-wide deltas (thread pools, clients), taken over CQL before and after the run.
///
/// Values are preformatted text; `nil` means the server does not expose the figure (rendered as
/// ``notExposed``). The CLI fills it from the verification module's server-metrics delta.
public struct ServerSideMetrics: Sendable, Hashable, Codable {
    /// Text shown for a figure the server does not expose.
    public static let notExposed = "not exposed by this server"

    /// One table of the keyspace.
    public struct TableRow: Sendable, Hashable, Codable {
        public var table: String
        /// One value per column of ``ServerSideMetrics/columns``; `nil` when not exposed.
        public var values: [String?]

        public init(table: String, values: [String?]) {
            self.table = table
            self.values = values
        }
    }

    /// One node-wide figure (summed over nodes).
    public struct NodeFigure: Sendable, Hashable, Codable {
        public var name: String
        /// `nil` when not exposed.
        public var value: String?

        public init(name: String, value: String?) {
            self.name = name
            self.value = value
        }
    }

    public var keyspace: String
    /// Seconds between the before and after snapshots.
    public var secondsBetweenSnapshots: Double
    /// The nodes read, `host:port`.
    public var nodes: [String]
    /// Column titles of the per-table rows.
    public var columns: [String]
    public var tables: [TableRow]
    public var nodeFigures: [NodeFigure]
    /// Why something could not be measured, restarts, caveats.
    public var notes: [String]

    public init(
        keyspace: String, secondsBetweenSnapshots: Double, nodes: [String], columns: [String], tables: [TableRow],
        nodeFigures: [NodeFigure], notes: [String]
    ) {
        self.keyspace = keyspace
        self.secondsBetweenSnapshots = secondsBetweenSnapshots
        self.nodes = nodes
        self.columns = columns
        self.tables = tables
        self.nodeFigures = nodeFigures
        self.notes = notes
    }

    /// The report's "Cassandra side" section (report-only card).
    var html: String {
        let escape = DashboardPage.escapeHTML
        func cell(_ value: String?) -> String {
            guard let value else { return "<td class=\"muted\">\(escape(Self.notExposed))</td>" }
            return "<td>\(escape(value))</td>"
        }
        var html = "<section class=\"card report-only\" id=\"server-metrics\"><h2>Cassandra side</h2>"
        html += "<p class=\"muted\">keyspace \(escape(keyspace)) · \(nodes.count) node\(nodes.count == 1 ? "" : "s") read over CQL · "
        html += "\(escape(String(format: "%.1f", secondsBetweenSnapshots))) s between the before and after snapshots · Δ = change over the run</p>"
        html += "<div class=\"scroll\"><table id=\"server-tables\"><thead><tr><th class=\"text\">Table</th>"
        html += columns.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        if tables.isEmpty {
            html += "<tr><td class=\"text\">(no table of \(escape(keyspace)))</td>"
            html += String(repeating: cell(nil), count: columns.count) + "</tr>"
        }
        for row in tables {
            html += "<tr><td class=\"text\">\(escape(row.table))</td>"
            for index in columns.indices { html += cell(index < row.values.count ? row.values[index] : nil) }
            html += "</tr>"
        }
        html += "</tbody></table></div>"
        html += "<div class=\"scroll\"><table id=\"server-node-figures\"><thead><tr><th class=\"text\">Node-wide (all nodes)</th><th>Value</th></tr></thead><tbody>"
        for figure in nodeFigures { html += "<tr><td class=\"text\">\(escape(figure.name))</td>\(cell(figure.value))</tr>" }
        html += "</tbody></table></div>"
        if !notes.isEmpty {
            html += "<ul class=\"muted\">" + notes.map { "<li>\(escape($0))</li>" }.joined() + "</ul>"
        }
        return html + "</section>\n"
    }
}
