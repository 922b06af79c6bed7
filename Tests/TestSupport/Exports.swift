@_exported import Synthetic
