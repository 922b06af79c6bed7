import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A `.safetensors` file, memory-mapped read-only: an 8-byte little-endian header length,
/// a JSON header naming each tensor's dtype, shape and byte range, then the raw data.
///
/// Tensors are read in place from the map; nothing is copied unless an F32 tensor is not
/// 4-byte aligned in the file (then `init` copies it once, into memory the file owns).
///
/// ```swift
/// let file = try SafeTensorsFile(path: "model.safetensors")
/// let bias = try file.float32("embeddings.LayerNorm.bias", shape: [384])
/// ```
///
/// Thread safety: immutable after `init`; any number of threads may read tensors at once.
/// Pointers it hands out are valid while the file object lives.
public final class SafeTensorsFile: @unchecked Sendable {
    // @unchecked: it owns a read-only mapping (and aligned copies) that nothing writes to
    // after init, and releases them in deinit.

    /// One tensor's entry in the header.
    public struct TensorInfo: Sendable, Hashable {
        /// The element type as the file spells it, e.g. `F32`.
        public var dtype: String
        /// The shape, outermost first.
        public var shape: [Int]
        /// Byte range in the data section (after the header).
        public var dataRange: Range<Int>
    }

    /// The file's path.
    public let path: String
    /// Every tensor in the header, by name.
    public let tensors: [String: TensorInfo]
    private let mapping: UnsafeMutableRawPointer
    private let mappedSize: Int
    private let dataOffset: Int
    private let copies: [String: UnsafeMutableBufferPointer<Float>]

    /// Maps the file and parses its header.
    ///
    /// - Throws: `IngestError.modelNotFound` if the file does not exist,
    ///   `IngestError.badModelFile` (naming the file) if it is truncated or its header is
    ///   not valid safetensors JSON.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw IngestError(
                errno == ENOENT ? .modelNotFound : .badModelFile, "cannot open model file \(path): \(reason)")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw IngestError(.badModelFile, "cannot stat model file \(path): \(String(cString: strerror(errno)))")
        }
        let size = Int(st.st_size)
        guard size >= 8 else {
            throw IngestError(.badModelFile, "\(path) is not a safetensors file: \(size) bytes, shorter than the 8-byte header length")
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw IngestError(.badModelFile, "cannot map model file \(path): \(String(cString: strerror(errno)))")
        }
        do {
            (tensors, dataOffset) = try Self.parseHeader(UnsafeRawBufferPointer(start: base, count: size), path: path)
        } catch {
            munmap(base, size)
            throw error
        }
        mapping = base
        mappedSize = size
        var copies: [String: UnsafeMutableBufferPointer<Float>] = [:]
        for (name, info) in tensors where info.dtype == "F32" {
            let start = UnsafeRawPointer(base) + dataOffset + info.dataRange.lowerBound
            guard Int(bitPattern: start) % MemoryLayout<Float>.alignment != 0 else { continue }
            let copy = UnsafeMutableBufferPointer<Float>.allocate(capacity: info.dataRange.count / 4)
            UnsafeMutableRawBufferPointer(copy).copyMemory(from: UnsafeRawBufferPointer(start: start, count: copy.count * 4))
            copies[name] = copy
        }
        self.copies = copies
    }

    deinit {
        munmap(mapping, mappedSize)
        for buffer in copies.values { buffer.deallocate() }
    }

    /// The F32 tensor `name`, checked against `shape`, as a pointer into the map.
    ///
    /// - Throws: `IngestError.badModelFile` naming the file and the tensor if it is
    ///   missing, not F32, or of another shape.
    public func float32(_ name: String, shape: [Int]) throws -> UnsafeBufferPointer<Float> {
        guard let info = tensors[name] else {
            throw IngestError(.badModelFile, "\(path) has no tensor \"\(name)\" (it holds \(tensors.count) tensors)")
        }
        guard info.dtype == "F32" else {
            throw IngestError(.badModelFile, "tensor \"\(name)\" in \(path) is \(info.dtype), expected F32")
        }
        guard info.shape == shape else {
            throw IngestError(.badModelFile, "tensor \"\(name)\" in \(path) has shape \(info.shape), expected \(shape)")
        }
        if let copy = copies[name] { return UnsafeBufferPointer(copy) }
        let start = UnsafeRawPointer(mapping) + dataOffset + info.dataRange.lowerBound
        return UnsafeBufferPointer(start: start.assumingMemoryBound(to: Float.self), count: shape.reduce(1, *))
    }

    private static let elementSizes = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
    ]

    /// The tensors and where the data section starts, checked against the file's size.
    private static func parseHeader(_ file: UnsafeRawBufferPointer, path: String) throws -> ([String: TensorInfo], Int) {
        let raw = UInt64(littleEndian: file.loadUnaligned(as: UInt64.self))
        guard let headerLength = Int(exactly: raw), headerLength > 0, headerLength <= file.count - 8 else {
            throw IngestError(
                .badModelFile,
                "\(path) is truncated or not a safetensors file: header of \(raw) bytes, file of \(file.count)")
        }
        let json = Data(file[8..<(8 + headerLength)])
        guard let object = try? JSONSerialization.jsonObject(with: json), let entries = object as? [String: Any] else {
            throw IngestError(.badModelFile, "\(path) has a safetensors header that is not a JSON object")
        }
        let dataSize = file.count - 8 - headerLength
        var tensors: [String: TensorInfo] = [:]
        for (name, value) in entries where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else {
                throw IngestError(.badModelFile, "tensor \"\(name)\" in \(path) has a malformed header entry")
            }
            let range = offsets[0]..<max(offsets[0], offsets[1])
            guard offsets[0] >= 0, offsets[1] >= offsets[0], shape.allSatisfy({ $0 >= 0 }) else {
                throw IngestError(.badModelFile, "tensor \"\(name)\" in \(path) has invalid offsets \(offsets) or shape \(shape)")
            }
            guard range.upperBound <= dataSize else {
                throw IngestError(
                    .badModelFile,
                    "\(path) is truncated: tensor \"\(name)\" ends at byte \(range.upperBound) of a \(dataSize)-byte data section")
            }
            // The element count, refusing shapes whose product overflows.
            var elements = 1
            for d in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else {
                    throw IngestError(.badModelFile, "tensor \"\(name)\" in \(path) has an impossible shape \(shape)")
                }
                elements = product
            }
            if let size = elementSizes[dtype], elements > Int.max / size || range.count != elements * size {
                throw IngestError(
                    .badModelFile, "tensor \"\(name)\" in \(path) has \(range.count) bytes for shape \(shape) of \(dtype)")
            }
            tensors[name] = TensorInfo(dtype: dtype, shape: shape, dataRange: range)
        }
        return (tensors, 8 + headerLength)
    }
}
