"""The retrieval benchmark's vectors have the neighbourhood structure they claim (benchmarks.synthetic,
measured by benchmarks.vector_shape): embedding-like vectors are about as hard for a nearest-neighbour
index as all-MiniLM-L6-v2 embeddings of SciFact (local intrinsic dimension 7.2, 1st and 10th neighbour
at 0.26 and 0.46), the isotropic ones far harder."""

from __future__ import annotations

import numpy as np

from benchmarks.synthetic import EmbeddingLike, IsotropicClusters
from benchmarks.vector_shape import question_distances, shape


def test_embedding_like_vectors_have_the_shape_of_real_embeddings():
    vectors, questions = EmbeddingLike(np.random.default_rng(1), 384).chunks(8000, 100, 200)
    measured = shape(vectors, np.random.default_rng(0))
    assert 6 <= measured["local_intrinsic_dimension"] <= 11
    assert 0.2 <= measured["neighbour_1"] <= 0.35 and 0.38 <= measured["neighbour_10"] <= 0.52
    asked = question_distances(questions, vectors)
    assert 0.25 <= asked["question_to_chunk_1"] <= 0.4 < asked["question_to_chunk_10"] <= 0.55


def test_isotropic_clusters_are_the_harder_case():
    vectors, _ = IsotropicClusters(np.random.default_rng(1), 384).chunks(8000, 100)
    measured = shape(vectors, np.random.default_rng(0))
    assert measured["local_intrinsic_dimension"] > 15  # 20 here, 27 at 16,591 vectors
    assert measured["neighbour_10"] - measured["neighbour_1"] < 0.05  # the 10 nearest almost equidistant
