/// The system tables drivers read, with Cassandra 4.1's column names and types
/// (`db/SystemKeyspace.java`, `schema/SchemaKeyspace.java`). Their rows come from live state.
enum SystemSchemaDefinitions {
    static let keyspaces: [(String, [String])] = [
        ("system", [
            """
            CREATE TABLE local (key text PRIMARY KEY, bootstrapped text, broadcast_address inet, broadcast_port int,
              cluster_name text, cql_version text, data_center text, gossip_generation int, host_id uuid,
              listen_address inet, listen_port int, native_protocol_version text, partitioner text, rack text,
              release_version text, rpc_address inet, rpc_port int, schema_version uuid, tokens set<text>,
              truncated_at map<uuid, blob>)
            """,
            """
            CREATE TABLE peers_v2 (peer inet, peer_port int, data_center text, host_id uuid, native_address inet,
              native_port int, preferred_ip inet, preferred_port int, rack text, release_version text,
              schema_version uuid, tokens set<text>, PRIMARY KEY ((peer), peer_port))
            """,
            """
            CREATE TABLE peers (peer inet PRIMARY KEY, data_center text, host_id uuid, preferred_ip inet, rack text,
              release_version text, rpc_address inet, schema_version uuid, tokens set<text>)
            """,
        ]),
        ("system_schema", [
            """
            CREATE TABLE keyspaces (keyspace_name text PRIMARY KEY, durable_writes boolean,
              replication frozen<map<text, text>>)
            """,
            """
            CREATE TABLE tables (keyspace_name text, table_name text, additional_write_policy text,
              bloom_filter_fp_chance double, caching frozen<map<text, text>>, cdc boolean, comment text,
              compaction frozen<map<text, text>>, compression frozen<map<text, text>>, crc_check_chance double,
              default_time_to_live int, extensions frozen<map<text, blob>>, flags frozen<set<text>>,
              gc_grace_seconds int, id uuid, max_index_interval int, memtable_flush_period_in_ms int,
              min_index_interval int, read_repair text, speculative_retry text,
              PRIMARY KEY ((keyspace_name), table_name))
            """,
            """
            CREATE TABLE columns (keyspace_name text, table_name text, column_name text, clustering_order text,
              column_name_bytes blob, kind text, position int, type text,
              PRIMARY KEY ((keyspace_name), table_name, column_name))
            """,
            """
            CREATE TABLE types (keyspace_name text, type_name text, field_names frozen<list<text>>,
              field_types frozen<list<text>>, PRIMARY KEY ((keyspace_name), type_name))
            """,
            """
            CREATE TABLE functions (keyspace_name text, function_name text, argument_types frozen<list<text>>,
              argument_names frozen<list<text>>, body text, called_on_null_input boolean, language text,
              return_type text, PRIMARY KEY ((keyspace_name), function_name, argument_types))
            """,
            """
            CREATE TABLE aggregates (keyspace_name text, aggregate_name text, argument_types frozen<list<text>>,
              final_func text, initcond text, return_type text, state_func text, state_type text,
              PRIMARY KEY ((keyspace_name), aggregate_name, argument_types))
            """,
            """
            CREATE TABLE views (keyspace_name text, view_name text, base_table_id uuid, base_table_name text,
              bloom_filter_fp_chance double, caching frozen<map<text, text>>, comment text,
              compaction frozen<map<text, text>>, compression frozen<map<text, text>>, crc_check_chance double,
              default_time_to_live int, extensions frozen<map<text, blob>>, gc_grace_seconds int, id uuid,
              include_all_columns boolean, max_index_interval int, memtable_flush_period_in_ms int,
              min_index_interval int, read_repair text, speculative_retry text, where_clause text,
              PRIMARY KEY ((keyspace_name), view_name))
            """,
            """
            CREATE TABLE indexes (keyspace_name text, table_name text, index_name text, kind text,
              options frozen<map<text, text>>, PRIMARY KEY ((keyspace_name), table_name, index_name))
            """,
            """
            CREATE TABLE triggers (keyspace_name text, table_name text, trigger_name text,
              options frozen<map<text, text>>, PRIMARY KEY ((keyspace_name), table_name, trigger_name))
            """,
            """
            CREATE TABLE dropped_columns (keyspace_name text, table_name text, column_name text,
              dropped_time timestamp, kind text, type text, PRIMARY KEY ((keyspace_name), table_name, column_name))
            """,
        ]),
    ]
}
