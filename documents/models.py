"""What anyone may check about an issued document (the public verification page)."""
