import VectorStore

extension StoreOptions {
    /// Opens an existing store only: the commands that read or maintain a store never
    /// create one where the user mistyped a path.
    static let noCreate: StoreOptions = {
        var o = StoreOptions()
        o.create = false
        return o
    }()
}
