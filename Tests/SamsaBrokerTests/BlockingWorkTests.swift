import NIOConcurrencyHelpers
import SamsaStorage
import SamsaTesting
import Testing

@testable import SamsaBroker

@Suite("Blocking work")
struct BlockingWorkTests {
    @Test("a task on the blocking pool's executor runs blocking work in place; other tasks hop to the pool")
    func blockingWorkRunsInPlaceOnThePool() async throws {
        let blocking = BlockingWork(threadCount: 2)
        let onExecutor = try await withThrowingTaskGroup(of: (Bool, Bool).self) { group in
            group.addTask(executorPreference: blocking.executor) {
                let inJob = BlockingTaskExecutor.isRunningJob
                // In place: the body sees the executor's job still running on this thread.
                let inPlace = try await blocking.run { BlockingTaskExecutor.isRunningJob }
                return (inJob, inPlace)
            }
            return try await group.next()!
        }
        #expect(onExecutor == (true, true))
        #expect(!BlockingTaskExecutor.isRunningJob)
        // From elsewhere the body runs as a pool work item, not as an executor job.
        #expect(try await blocking.run { BlockingTaskExecutor.isRunningJob } == false)
        try await blocking.shutdown()
    }

    @Test("a durability wait on the pool's executor does the first log's fsync in place, the others' on the pool")
    func durabilityWaitOnThePoolFlushesInPlace() async throws {
        let syncedInPlace = NIOLockedValueBox<[String: Bool]>([:])
        let fileSystem = GatedFileSystem(pathContaining: LogFileNames.logSuffix) { path in
            let directory = StoragePath.parent(path)
            syncedInPlace.withLockedValue { $0[directory] = BlockingTaskExecutor.isRunningJob }
        }
        let logs = try ["/d/a-0", "/d/b-0"].map { directory in
            try PartitionLog.open(directory: directory, fileSystem: fileSystem, clock: ManualClock())
        }
        let ends = try logs.map { try $0.append(TestBatches.batch(count: 2)).lastOffset + 1 }
        let blocking = BlockingWork(threadCount: 2)
        let waits = zip(logs, ends).map { (log: $0, offset: $1) }
        let results = await Task(executorPreference: blocking.executor) {
            await blocking.waitUntilDurable(waits)
        }.value
        #expect(results.map { $0 == nil } == [true, true])
        #expect(zip(logs, ends).allSatisfy { $0.recoveryPoint >= $1 })
        #expect(syncedInPlace.withLockedValue { $0 } == ["/d/a-0": true, "/d/b-0": false])
        // Off the pool, every fsync is the pool's.
        let more = try logs[0].append(TestBatches.batch(count: 1)).lastOffset + 1
        #expect(await blocking.waitUntilDurable([(logs[0], more)]) == [nil])
        #expect(syncedInPlace.withLockedValue { $0["/d/a-0"] } == false)
        try await blocking.shutdown()
    }
}
