extension BrokerConfigs {
    /// Listener protocols, TLS and SASL settings, with Kafka's names.
    static let securityDefinitions: [BrokerConfigDefinition] = [
        kafka(
            "listener.security.protocol.map", .string, "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
            { settings in
                SecurityProtocol.allCases.map { "\($0.rawValue):\($0.rawValue)" }
                    .joined(separator: ",")
                    + settings.configuration.security.protocolMap.sorted { $0.key < $1.key }.map { ",\($0.key):\($0.value.rawValue)" }
                    .joined()
            },
            "NAME:PROTOCOL,... for listener names that are not a protocol's (INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL)"
        ) { configuration, value throws(ConfigurationError) in
            configuration.security.protocolMap = try SecurityConfiguration.parseProtocolMap(value)
        },
        kafka(
            "ssl.keystore.location", .string, nil, { $0.configuration.security.tls.certificateChainPath },
            "PEM file with the broker's certificate chain (leaf first) and, unless ssl.key.location is set, its private key"
        ) { configuration, value throws(ConfigurationError) in
            configuration.security.tls.certificateChainPath = try path(value)
        },
        kafka("ssl.keystore.type", .string, "JKS", { _ in "PEM" }) { _, value throws(ConfigurationError) in
            guard value.uppercased() == "PEM" else { throw ConfigurationError("only PEM is supported") }
        },
        samsa("ssl.key.location", "PEM file with the broker's private key, if not in ssl.keystore.location") {
            configuration, value throws(ConfigurationError) in
            configuration.security.tls.privateKeyPath = try path(value)
        },
        samsa("ssl.key.password", "passphrase of an encrypted private key") { configuration, value throws(ConfigurationError) in
            configuration.security.tls.privateKeyPassword = value
        },
        kafka(
            "ssl.truststore.location", .string, nil, { $0.configuration.security.tls.trustedCertificatesPath },
            "PEM file with the CAs that sign client certificates (for ssl.client.auth)"
        ) { configuration, value throws(ConfigurationError) in
            configuration.security.tls.trustedCertificatesPath = try path(value)
        },
        kafka("ssl.truststore.type", .string, "JKS", { _ in "PEM" }) { _, value throws(ConfigurationError) in
            guard value.uppercased() == "PEM" else { throw ConfigurationError("only PEM is supported") }
        },
        kafka(
            "ssl.client.auth", .string, "none", { $0.configuration.security.tls.clientAuthentication.rawValue },
            "none, requested or required: mTLS, the principal being the certificate's subject (default none)"
        ) { configuration, value throws(ConfigurationError) in
            guard let mode = TLSSettings.ClientAuthentication(rawValue: value.lowercased()) else {
                throw ConfigurationError("expected none, requested or required")
            }
            configuration.security.tls.clientAuthentication = mode
        },
        kafka(
            "ssl.enabled.protocols", .list, "TLSv1.2,TLSv1.3", { $0.configuration.security.tls.enabledProtocols.joined(separator: ",") },
            "TLS versions accepted (default TLSv1.2,TLSv1.3)"
        ) { configuration, value throws(ConfigurationError) in
            let versions = value.split(separator: ",").map { String($0.trimmingWhitespace()) }
            guard !versions.isEmpty, versions.allSatisfy({ $0 == "TLSv1.2" || $0 == "TLSv1.3" }) else {
                throw ConfigurationError("expected TLSv1.2, TLSv1.3 or both")
            }
            configuration.security.tls.enabledProtocols = versions
        },
        kafka(
            "sasl.enabled.mechanisms", .list, "GSSAPI",
            { $0.configuration.security.sasl.enabledMechanisms.map(\.rawValue).joined(separator: ",") },
            "SASL mechanisms offered: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (default all three)"
        ) { configuration, value throws(ConfigurationError) in
            configuration.security.sasl.enabledMechanisms = try value.split(separator: ",").map { name throws(ConfigurationError) in
                let trimmed = String(name.trimmingWhitespace()).uppercased()
                guard let mechanism = SASLMechanism(rawValue: trimmed) else {
                    throw ConfigurationError("\(trimmed) is not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)")
                }
                return mechanism
            }
        },
        kafka(
            "sasl.server.max.receive.size", .int, "524288", { String($0.configuration.security.sasl.maxReceiveBytes) },
            "largest frame before and during authentication (default 524288)"
        ) { configuration, value throws(ConfigurationError) in
            configuration.security.sasl.maxReceiveBytes = Int(try integer(value, atLeast: 1024))
        },
        kafka(
            "connections.max.reauth.ms", .long, "0", { String($0.configuration.security.sasl.maxReauthenticationMilliseconds) },
            "SASL sessions last this long, then clients re-authenticate (KIP-368); 0: for ever (default 0)"
        ) { configuration, value throws(ConfigurationError) in
            configuration.security.sasl.maxReauthenticationMilliseconds = try integer(value, atLeast: 0)
        },
        kafka(
            "connection.failed.authentication.delay.ms", .int, "100",
            { String($0.configuration.security.sasl.failedAuthenticationDelayMilliseconds) },
            "delay before a failed authentication's answer and close (default 100)"
        ) { configuration, value throws(ConfigurationError) in
            configuration.security.sasl.failedAuthenticationDelayMilliseconds = try integer(value, atLeast: 0)
        },
        kafka(
            "super.users", .string, nil,
            { settings in
                let users = settings.configuration.security.superUsers.map(\.description).sorted()
                return users.isEmpty ? nil : users.joined(separator: ";")
            },
            "principals allowed everything, separated by ';' (User:admin;User:CN=ops)"
        ) { configuration, value throws(ConfigurationError) in
            configuration.security.superUsers = Set(
                try value.split(separator: ";").map { text throws(ConfigurationError) in
                    guard let principal = KafkaPrincipal(parsing: text.trimmingWhitespace()) else {
                        throw ConfigurationError("expected Type:name, got `\(text)`")
                    }
                    return principal
                })
        },
        kafka(
            "authorizer.class.name", .string, "",
            { $0.configuration.security.authorizerEnabled ? "org.apache.kafka.metadata.authorizer.StandardAuthorizer" : "" },
            "any authorizer class (e.g. org.apache.kafka.metadata.authorizer.StandardAuthorizer) turns on ACL checks (default off)"
        ) { configuration, value throws(ConfigurationError) in
            configuration.security.authorizerEnabled = !value.trimmingWhitespace().isEmpty
        },
        kafka(
            "allow.everyone.if.no.acl.found", .boolean, "false", { String($0.configuration.security.allowEveryoneIfNoAclFound) },
            "with ACLs on: resources no ACL covers are open to everyone (default false)"
        ) { configuration, value throws(ConfigurationError) in
            configuration.security.allowEveryoneIfNoAclFound = try boolean(value)
        },
        kafka(
            "max.connections", .int, "2147483647", { String(min($0.configuration.maxConnections, Int(Int32.max))) },
            "connections accepted at once, over all listeners (default no limit)"
        ) { configuration, value throws(ConfigurationError) in
            configuration.maxConnections = Int(try integer(value, atLeast: 1))
        },
        kafka(
            "max.connections.per.ip", .int, "2147483647", { String(min($0.configuration.maxConnectionsPerIP, Int(Int32.max))) },
            "connections accepted at once from one address (default no limit)"
        ) { configuration, value throws(ConfigurationError) in
            configuration.maxConnectionsPerIP = Int(try integer(value, atLeast: 1))
        },
        kafka(
            "connections.max.idle.ms", .long, "600000", { String($0.configuration.connectionsMaxIdleMilliseconds) },
            "close connections without traffic for this long; 0 never (default 600000)"
        ) { configuration, value throws(ConfigurationError) in
            configuration.connectionsMaxIdleMilliseconds = try integer(value, atLeast: 0)
        },
        samsa(
            "request.arrival.timeout.ms",
            "close a connection whose request frame is not whole this long after its first byte (default 30000)"
        ) {
            configuration, value throws(ConfigurationError) in
            configuration.requestArrivalTimeoutMilliseconds = try integer(value, atLeast: 0)
        },
        samsa("connection.queued.max.request.bytes", "bytes of requests one connection holds before it is read again (default 16777216)") {
            configuration, value throws(ConfigurationError) in
            configuration.connectionQueuedMaxRequestBytes = Int(try integer(value, atLeast: 1024))
        },
        samsa(
            "loopback.congestion.control",
            "TCP congestion control of loopback connections where the system's paces sends (bbr), or system to keep it (default cubic)"
        ) { configuration, value throws(ConfigurationError) in
            guard !value.isEmpty, value.utf8.count < 16 else { throw ConfigurationError("expected an algorithm's name or system") }
            configuration.loopbackCongestionControl = value == "system" ? nil : value
        },
        samsa("sasl.users", "NAME:PASSWORD,... created at start with SCRAM credentials if they have none (the first administrator)") {
            configuration, value throws(ConfigurationError) in
            configuration.security.sasl.bootstrapUsers = try value.split(separator: ",").map { entry throws(ConfigurationError) in
                guard let colon = entry.firstIndex(of: ":"), colon != entry.startIndex, entry.index(after: colon) != entry.endIndex else {
                    throw ConfigurationError("expected NAME:PASSWORD")
                }
                return (String(entry[..<colon]), String(entry[entry.index(after: colon)...]))
            }
        },
    ]

    private static func path(_ value: String) throws(ConfigurationError) -> String {
        guard !value.isEmpty else { throw ConfigurationError("expected a file path") }
        return value
    }
}
