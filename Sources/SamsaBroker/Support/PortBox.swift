import NIOConcurrencyHelpers

/// A port number set once the listener is bound.
final class PortBox: Sendable {
    private let box: NIOLockedValueBox<Int>

    init(_ port: Int) {
        box = NIOLockedValueBox(port)
    }

    var value: Int {
        get { box.withLockedValue { $0 } }
        set { box.withLockedValue { $0 = newValue } }
    }
}
