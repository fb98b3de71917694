"""espnet-mamba: Mamba selective state-space models as an ESPnet plugin.

``import espnet_mamba`` registers the project's components into ESPnet's class
choices (:mod:`espnet_mamba.registry`) and installs the ESPnet fixes
(:mod:`espnet_mamba.espnet_fixes`); it imports no ESPnet module itself.
An installed ``espnet_mamba.pth`` does this import at interpreter start, so plain
``python -m espnet2.bin.*`` runs and their spawned workers find the components too.
"""
from espnet_mamba import espnet_fixes
from espnet_mamba.registry import RegistrationError, register

__version__ = "0.1.0"

register()
espnet_fixes.install()

__all__ = ["RegistrationError", "register", "__version__"]
