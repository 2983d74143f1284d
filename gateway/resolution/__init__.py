"""Identity resolution applied to the store: training the match model on the base, explaining
a pair, re-scoring the review queue. The rules and the model are pure
(:mod:`gateway.identity`); the tables are the store's (:mod:`gateway.store`)."""
