import Logging
import NIOCore
import SamsaCoordination
import SamsaProtocol
import SamsaStorage

/// What ListGroups shows of a group.
package struct GroupListing: Sendable, Hashable {
    package var groupId: String
    package var protocolType: String
    /// The state's name (``ClassicGroupState`` or ``ConsumerGroupState``).
    package var state: String
    /// "classic" or "consumer" (KIP-848).
    package var type: String
}

extension GroupCoordinator {
    /// Every live group, optionally only those in `states` (lowercased names) and of `types`
    /// (empty: all).
    package func listGroups(states: Set<String>, types: Set<String>) -> [GroupListing] {
        let classic = groups.values.filter { $0.state != .dead }.map {
            GroupListing(groupId: $0.groupId, protocolType: $0.protocolType ?? "", state: $0.state.rawValue, type: "classic")
        }
        let consumer = consumerGroups.values.filter { $0.state != .dead }.map {
            GroupListing(groupId: $0.groupId, protocolType: "consumer", state: $0.state.rawValue, type: "consumer")
        }
        return (classic + consumer)
            .filter { states.isEmpty || states.contains($0.state.lowercased()) }
            .filter { types.isEmpty || types.contains($0.type) }
            .sorted { $0.groupId < $1.groupId }
    }

    /// The group called `groupId`, or nil if there is none.
    package func group(_ groupId: String) -> ClassicGroup? {
        groups[groupId]
    }

    /// DeleteGroups: removes empty groups and their offsets, with one error per group.
    package func deleteGroups(_ ids: [String]) async -> [ErrorCode] {
        var results: [ErrorCode] = []
        for id in ids {
            results.append(await deleteGroup(id))
        }
        return results
    }

    private func deleteGroup(_ id: String) async -> ErrorCode {
        guard !isShutDown else { return .notCoordinator }
        guard !id.isEmpty else { return .invalidGroupId }
        if var consumer = consumerGroups[id] {
            guard consumer.state == .empty else { return .nonEmptyGroup }
            consumer.markDead(now: now)
            consumerGroups[id] = nil
        } else {
            guard var group = groups[id], group.state != .dead else { return .groupIdNotFound }
            guard group.state == .empty else { return .nonEmptyGroup }
            perform(group.markDead(now: now), groupId: id)
            groups[id] = nil
        }
        var records = (offsets.removeValue(forKey: id) ?? [:]).keys.sorted().map {
            OffsetsTopicRecord.offset(group: id, topic: $0.topic, partition: $0.partition, nil)
        }
        records.append(.group(group: id, nil))
        do {
            _ = try await store(records, groupId: id)
        } catch {
            logger.error("could not delete group", metadata: ["group": "\(id)", "error": "\(error)"])
            return .coordinatorNotAvailable
        }
        return .noError
    }
}
