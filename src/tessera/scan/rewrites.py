from tessera.rewrite.basic import node_rewriter  # noqa: F401
