import CQLProtocol
import Foundation
import NIOCore
import Testing

@testable import CQLClient

@Suite struct CQLRoutingTests {
    let ring = CQLTokenRing(ownership: [
        (CQLTokenRing.Member(id: 0, datacenter: "dc1"), [-100, 300]),
        (CQLTokenRing.Member(id: 1, datacenter: "dc1"), [0]),
        (CQLTokenRing.Member(id: 2, datacenter: "dc2"), [100]),
        (CQLTokenRing.Member(id: 3, datacenter: "dc2"), [200]),
    ])

    @Test func simpleStrategyWalksTheRingClockwiseSkippingDuplicates() {
        #expect(ring.replicas(of: -50, replication: .simple(replicationFactor: 2)).map(\.id) == [1, 2])
        #expect(ring.replicas(of: 250, replication: .simple(replicationFactor: 3)).map(\.id) == [0, 1, 2])
        // Past the last token wraps to the first.
        #expect(ring.replicas(of: 301, replication: .simple(replicationFactor: 1)).map(\.id) == [0])
        #expect(ring.replicas(of: 0, replication: .simple(replicationFactor: 9)).count == 4)
    }

    @Test func networkTopologyStrategyCountsPerDatacenter() {
        let replicas = ring.replicas(of: 50, replication: .networkTopology(["dc1": 1, "dc2": 2]))
        #expect(replicas.map(\.id) == [2, 3, 0])
    }

    @Test(arguments: [
        CQLReplication.simple(replicationFactor: 1), .simple(replicationFactor: 3), .simple(replicationFactor: 9),
        .networkTopology(["dc1": 1, "dc2": 2]), .networkTopology(["dc2": 1]), .networkTopology(["dc3": 2]), .other("LocalStrategy"),
    ])
    func replicaTableAnswersAsTheRingWalkDoes(replication: CQLReplication) {
        let table = ring.replicaTable(replication: replication)
        // Every token, the ones just around each range boundary, and both ends of the token space.
        let probes: [Int64] = [.min, -101, -100, -99, -1, 0, 1, 99, 100, 101, 199, 200, 201, 299, 300, 301, .max]
        for token in probes {
            #expect(table.replicas(of: token) == ring.replicas(of: token, replication: replication), "token \(token)")
        }
        #expect(CQLTokenRing(ownership: []).replicaTable(replication: replication).replicas(of: 0).isEmpty)
    }

    @Test func replicationOptionsAreParsed() {
        #expect(CQLReplication(options: ["class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "3"]) == .simple(replicationFactor: 3))
        #expect(CQLReplication(options: ["class": "NetworkTopologyStrategy", "dc1": "3", "dc2": "2/1"]) == .networkTopology(["dc1": 3, "dc2": 2]))
        #expect(CQLReplication(options: ["class": "LocalStrategy"]) == .other("LocalStrategy"))
    }

    @Test func bindEncodesValuesAndExtractsASingleComponentRoutingKey() throws {
        let columns = [
            CQLColumnSpec(keyspace: "k", table: "t", name: "id", type: .uuid),
            CQLColumnSpec(keyspace: "k", table: "t", name: "body", type: .varchar),
        ]
        let statement = CQLPreparedStatement(query: "INSERT", keyspace: "k", prepared: CQLPrepared(id: [1], bindColumns: columns, partitionKeyIndexes: [0], resultColumns: []))
        let id = UUID(uuidString: "01234567-89ab-cdef-0123-456789abcdef")!
        let (values, key) = try statement.bind([.uuid(id), .text("hi")])
        #expect(values.count == 2)
        #expect(key.map { Array($0.readableBytesView) } == id.cqlBytes)
        #expect(try values.positionalValues() == [.bytes(ByteBuffer(bytes: id.cqlBytes)), .bytes(ByteBuffer(string: "hi"))])
    }

    @Test func compositeRoutingKeyUsesCompositeTypeLayout() throws {
        let columns = [
            CQLColumnSpec(keyspace: "k", table: "t", name: "a", type: .int),
            CQLColumnSpec(keyspace: "k", table: "t", name: "b", type: .varchar),
        ]
        let statement = CQLPreparedStatement(query: "SELECT", keyspace: "k", prepared: CQLPrepared(id: [1], bindColumns: columns, partitionKeyIndexes: [1, 0], resultColumns: []))
        let (_, key) = try statement.bind([.int(7), .text("x")])
        #expect(key.map { Array($0.readableBytesView) } == [0, 1, 0x78, 0, 0, 4, 0, 0, 0, 7, 0])
        #expect(key.map { Array($0.readableBytesView) } == Murmur3Partitioner.serializedKey(components: [[0x78], [0, 0, 0, 7]]))
    }

    @Test func nullPartitionKeyGivesNoRoutingKey() throws {
        let columns = [CQLColumnSpec(keyspace: "k", table: "t", name: "a", type: .int)]
        let statement = CQLPreparedStatement(query: "SELECT", keyspace: "k", prepared: CQLPrepared(id: [1], bindColumns: columns, partitionKeyIndexes: [0], resultColumns: []))
        #expect(try statement.bind([.null]).routingKey == nil)
        #expect(throws: CQLClientError.self) { try statement.bind([]) }
    }

    @Test func retryPolicyRetriesOnlyWhatIsSafe() {
        let policy = CQLRetryPolicy(maxRetries: 2)
        let timeout = CQLClientError(.timeout, "t")
        #expect(policy.decide(error: timeout, isIdempotent: true, attempt: 0) == .retryNextHost)
        #expect(policy.decide(error: timeout, isIdempotent: false, attempt: 0) == .rethrow)
        #expect(policy.decide(error: timeout, isIdempotent: true, attempt: 2) == .rethrow)
        let unavailable = CQLClientError(.server(CQLServerError(.unavailable(consistency: .quorum, required: 2, alive: 1), "")), "u")
        #expect(policy.decide(error: unavailable, isIdempotent: false, attempt: 0) == .retryNextHost)
        let syntax = CQLClientError(.server(CQLServerError(.syntaxError, "")), "s")
        #expect(policy.decide(error: syntax, isIdempotent: true, attempt: 0) == .rethrow)
        #expect(policy.decide(error: CQLClientError(.connectionFailed, "c"), isIdempotent: false, attempt: 1) == .retryNextHost)
    }

    @Test func contactPointsAreParsedWithClearErrors() throws {
        #expect(try CQLHostAddress(parsing: "10.0.0.2") == CQLHostAddress(host: "10.0.0.2", port: 9042))
        #expect(try CQLHostAddress(parsing: " cass1:9043 ") == CQLHostAddress(host: "cass1", port: 9043))
        #expect(try CQLHostAddress(parsing: "[::1]:9044") == CQLHostAddress(host: "::1", port: 9044))
        #expect(try CQLHostAddress(parsing: "::1") == CQLHostAddress(host: "::1", port: 9042))
        #expect(throws: CQLClientError.self) { try CQLHostAddress(parsing: "host:99999") }
        #expect(throws: CQLClientError.self) { try CQLHostAddress(parsing: "") }
    }
}
