"""Scripts shared by the widget and panel tests."""

import textwrap

TRAIN_CFG = textwrap.dedent(
    """\
    from cascade_core import Config


    class TrainCfg(Config):
        lr = 1.5
        momentum = 0.9
        epochs = 10
        weight_decay = 1e-4
        eps = 1e-8
        name = "base"
        use_amp = True


    c = TrainCfg
    print(c.lr, c.epochs, type(c.epochs).__name__, c.weight_decay, c.name, c.use_amp)
    """
)
"""A config of decimal, integer, text, bool and very small float defaults (`train_cfg.py`)."""
