"""The multi-task network: one encoder pass, mean pooling, one linear head per task in the schema."""

from __future__ import annotations

import torch
from torch import nn

from .backbone import mean_pool
from .schema import LabelSchema


class VocClassifier(nn.Module):
    """Encoder + mean pooling + heads; ``forward`` returns raw logits per task."""

    def __init__(self, encoder: nn.Module, schema: LabelSchema, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.schema = schema
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({t.name: nn.Linear(hidden, len(t.labels)) for t in schema.tasks})

    def pool(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return mean_pool(hidden, attention_mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        pooled = self.dropout(self.pool(input_ids, attention_mask))
        return {name: head(pooled) for name, head in self.heads.items()}

    def heads_state(self) -> dict[str, torch.Tensor]:
        return {f"heads.{k}": v.detach().contiguous() for k, v in self.heads.state_dict().items()}
