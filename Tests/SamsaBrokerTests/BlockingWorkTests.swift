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
}
