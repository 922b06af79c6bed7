import PDFParsing

// The PDF worker process (see PDFWorker): Quiver starts it with a socket as standard input
// and output, and reads one PDF per request until it closes the socket.
PDFWorker.serve()
