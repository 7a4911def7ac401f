import NIOCore

/// A task executor over one event loop: a connection's reading loop runs on the thread that
/// reads its socket and writes its answers.
///
/// Without it, every request woke one of Swift's cooperative threads after the event loop had
/// read it, and its answer crossed back to the event loop; on a machine whose cores are busy,
/// each such wake-up may wait for the scheduler (`perf sched` showed waits of several
/// milliseconds), which made the tail of request latency. Work that may block never runs here:
/// file I/O goes through ``BlockingWork``, except small appends that only copy into the page
/// cache (``ProduceHandler/inlineAppendBytes``), and coordinators are actors on their own
/// executors.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}
