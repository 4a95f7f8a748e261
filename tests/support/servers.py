"""Settings of the embedded servers the tests start."""

# PostgreSQL's own default: a test server needs no quarter of the machine's memory.
TEST_SHARED_BUFFERS = "128MB"
