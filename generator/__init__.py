"""cortexdb's build-time compiler: manifest.toml + migrations/*.sql -> cortexdb/_frozen.py."""
