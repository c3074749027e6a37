"""The real packaged models: SmolLM2 answers, MiniLM embeds sensibly (marked slow)."""

from collections.abc import Iterator

import numpy as np
import pytest
from openai import OpenAI

from computemesh.config.engine import EngineSettings
from computemesh.inference import Engine, ModelKind, discover, options_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def packaged_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    cache = tmp_path_factory.mktemp("cache")
    settings = EngineSettings(
        threads=2, parallel=1, ctx_size=1024, embeddings=True, cache_dir=cache
    )
    engine = Engine(options_of(settings))
    engine.start_sync(discover(settings))
    yield engine
    engine.stop_sync()


def _client(engine: Engine, kind: ModelKind) -> tuple[OpenAI, str]:
    provider = next(p for p in engine.providers if p.kind is kind)
    return OpenAI(base_url=provider.openai_url, api_key="unused"), provider.model_id


def test_smollm2_knows_the_capital_of_france(packaged_engine: Engine) -> None:
    client, model = _client(packaged_engine, ModelKind.CHAT)
    reply = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        temperature=0,
        max_tokens=32,
    )
    assert model == "SmolLM2-135M-Instruct"
    assert "Paris" in (reply.choices[0].message.content or "")
    assert reply.choices[0].finish_reason == "stop"


def test_minilm_ranks_the_related_sentence_first(packaged_engine: Engine) -> None:
    client, model = _client(packaged_engine, ModelKind.EMBEDDING)
    texts = ["What is the capital of France?", "Paris is in France.", "Bananas are yellow."]
    vectors = np.array(
        [d.embedding for d in client.embeddings.create(model=model, input=texts).data]
    )
    assert vectors.shape == (3, 384)
    similarity = vectors @ vectors[0]
    assert similarity[1] > similarity[2]
