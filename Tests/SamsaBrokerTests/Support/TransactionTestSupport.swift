import SamsaProtocol

/// Requests the transaction tests send.
enum TransactionRequests {
    /// TxnOffsetCommit of `offset` for partition 0 of `topic` in `group`; generation -1 and no
    /// member by default (a standalone application).
    static func commitOffset(
        _ transactionalId: String, producerId: Int64, epoch: Int16, offset: Int64, group: String = "g", topic: String = "in",
        generation: Int32 = -1, memberId: String = ""
    ) -> TxnOffsetCommitRequest {
        var request = TxnOffsetCommitRequest()
        request.transactionalId = transactionalId
        request.groupId = group
        request.producerId = producerId
        request.producerEpoch = epoch
        request.generationId = generation
        request.memberId = memberId
        var entry = TxnOffsetCommitRequest.TxnOffsetCommitRequestTopic()
        entry.name = topic
        var partition = TxnOffsetCommitRequest.TxnOffsetCommitRequestPartition()
        partition.partitionIndex = 0
        partition.committedOffset = offset
        entry.partitions = [partition]
        request.topics = [entry]
        return request
    }
}
