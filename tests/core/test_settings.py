import pytest
from pydantic import SecretStr, ValidationError

from spikeland.core.security import new_key_spec
from spikeland.settings import Settings


def test_production_refuses_a_bcrypt_cost_under_12() -> None:
    keys = SecretStr(new_key_spec("k1"))
    with pytest.raises(ValidationError, match="bcrypt_cost"):
        Settings(environment="production", bcrypt_cost=11, encryption_keys=keys)
    assert Settings(environment="production", bcrypt_cost=12, encryption_keys=keys).bcrypt_cost == 12


def test_production_needs_configured_encryption_keys() -> None:
    with pytest.raises(ValidationError, match="encryption_keys"):
        Settings(environment="production")
