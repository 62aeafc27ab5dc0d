import Glibc

/// C memory for one spawn: strings, arrays and structs the C config points to, all freed
/// together once `csandbox_spawn` has returned (the child has its own copy by then).
final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    deinit {
        for block in blocks { free(block) }
    }

    func string(_ value: String) -> UnsafePointer<CChar> {
        let copy = strdup(value)!
        blocks.append(copy)
        return UnsafePointer(copy)
    }

    /// A NULL-terminated array of strings (argv, envp).
    func stringArray(_ values: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
        let array = allocate(UnsafeMutablePointer<CChar>?.self, count: values.count + 1)
        for (index, value) in values.enumerated() { array[index] = UnsafeMutablePointer(mutating: string(value)) }
        array[values.count] = nil
        return array
    }

    func pointerArray(_ values: [String]) -> UnsafeMutablePointer<UnsafePointer<CChar>?> {
        let array = allocate(UnsafePointer<CChar>?.self, count: max(values.count, 1))
        for (index, value) in values.enumerated() { array[index] = string(value) }
        return array
    }

    func array<T>(_ values: [T]) -> UnsafeMutablePointer<T> {
        let array = allocate(T.self, count: max(values.count, 1))
        for (index, value) in values.enumerated() { (array + index).initialize(to: value) }
        return array
    }

    func bytes(_ values: [UInt8]) -> UnsafeRawPointer {
        UnsafeRawPointer(array(values))
    }

    private func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let raw = calloc(count, MemoryLayout<T>.stride)!
        blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: count)
    }
}
