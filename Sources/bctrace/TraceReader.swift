import BlockCacheTrace

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Loads traces into memory: files (decompressed by running `gzip -dc` / `xz -dc`
/// into a pipe, so no compression library is linked) and the synthetic traces the
/// catalog builds from them. Loaded traces are kept, so "mixed" reuses its parts.
final class TraceReader {
    let directory: String
    private var loaded: [String: [Int64]] = [:]

    init(directory: String) {
        self.directory = directory
    }

    /// The keys of a catalog trace, in request order.
    func keys(of spec: TraceSpec) throws(TraceError) -> [Int64] {
        if let keys = loaded[spec.name] { return keys }
        var keys: [Int64]
        if let fileName = spec.fileName {
            guard let format = spec.format ?? TraceFormat(fileName: fileName) else {
                throw TraceError("\(fileName): the name implies no format; give --format")
            }
            keys = try Self.read(path: fileName.contains("/") ? fileName : directory + "/" + fileName, format: format)
        } else {
            keys = []
            for part in spec.parts {
                guard let partSpec = Catalog.spec(named: part) else { throw TraceError("unknown trace \(part)") }
                keys += try self.keys(of: partSpec)
            }
        }
        loaded[spec.name] = keys
        return keys
    }

    /// Reads a whole trace file in `format`, decompressing by its extension.
    static func read(path: String, format: TraceFormat) throws(TraceError) -> [Int64] {
        guard access(path, R_OK) == 0 else { throw TraceError("cannot read \(path): \(errnoString())") }
        var decoder = TraceDecoder(format: format)
        var keys: [Int64] = []
        if let command = Compression(fileName: path).decompressor {
            try withOutput(of: command + [path]) { (fd) throws(TraceError) in
                try pump(fd, path: path, into: &decoder, keys: &keys)
            }
        } else {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw TraceError("cannot open \(path): \(errnoString())") }
            defer { close(fd) }
            try pump(fd, path: path, into: &decoder, keys: &keys)
        }
        do {
            try decoder.finish(into: &keys)
        } catch {
            throw TraceError("\(path): \(error.message)")
        }
        return keys
    }

    /// 1 MiB reads: few system calls, and small enough to stay in cache.
    private static let chunkSize = 1 << 20

    /// Feeds everything readable from `fd` to `decoder`.
    private static func pump(_ fd: Int32, path: String, into decoder: inout TraceDecoder, keys: inout [Int64]) throws(TraceError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = systemRead(fd, buffer.baseAddress, chunkSize)
            if n < 0 {
                if errno == EINTR { continue }
                throw TraceError("reading \(path): \(errnoString())")
            }
            if n == 0 { return }
            do {
                try decoder.decode(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), into: &keys)
            } catch {
                throw TraceError("\(path): \(error.message)")
            }
        }
    }

    /// Runs `argv` (found on PATH) with its stdout on a pipe, calls `body` with the
    /// pipe's read end, then reaps the child. A child that fails is an error even when
    /// `body` succeeded: a truncated stream must not pass for a short trace.
    private static func withOutput(of argv: [String], _ body: (Int32) throws(TraceError) -> Void) throws(TraceError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw TraceError("pipe: \(errnoString())") }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        // Close-on-exec, so no other child inherits them (pipe2 is not visible to Swift).
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears O_CLOEXEC on the child's stdout; both pipe ends close on exec.
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)

        let cArgs = argv.map { strdup($0) }
        defer { cArgs.forEach { free($0) } }
        var pid = pid_t()
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, cArgs + [nil], environ)
        close(writeEnd)
        guard rc == 0 else {
            close(readEnd)
            throw TraceError("cannot run \(argv[0]) (needed to decompress \(argv.last!)): \(String(cString: strerror(rc)))")
        }

        var failure: TraceError?
        do {
            try body(readEnd)
        } catch {
            failure = error
        }
        close(readEnd)  // a child still writing (after a decode error) gets SIGPIPE
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if let failure { throw failure }
        // <sys/wait.h>'s WIFEXITED/WEXITSTATUS are macros Swift cannot import.
        let signal = status & 0x7f, exitCode = (status >> 8) & 0xff
        guard signal == 0 && exitCode == 0 else {
            throw TraceError("\(argv.joined(separator: " ")) failed (" + (signal != 0 ? "signal \(signal)" : "exit \(exitCode)") + ")")
        }
    }
}

/// `read(2)`, named apart from `TraceReader.read(path:format:)`.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}

func errnoString() -> String {
    String(cString: strerror(errno))
}
