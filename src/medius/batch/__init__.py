"""Batch analysis on Dask (an edge: it may import the whole library; nothing imports it).

``medius batch INPUT --out DIR`` analyses a folder or a manifest of inputs on a local Dask cluster
or an existing one. Every item gets exactly the output folder ``medius analyze`` would write for
it; a ledger makes re-runs skip what is done; failures are per item; cohort tables and a cohort
report summarise the batch. See ``docs/batch.md``.
"""

from medius.batch._cohort import iter_result_rows, write_cohort_outputs, write_items_table
from medius.batch._items import (
    MANIFEST_COLUMNS,
    MARKER_UNITS,
    OPTION_COLUMNS,
    BatchItem,
    ItemSettings,
    ManifestError,
    accepted_options,
    compute_input_sha256,
    compute_item_key,
    discover_items,
    looks_like_marker_table,
    read_manifest,
    task_names,
)
from medius.batch._ledger import DONE_STATUSES, LEDGER_NAME, Ledger
from medius.batch._runner import (
    PROGRESS_TOPIC,
    BatchRun,
    ItemOutcome,
    analyze_item,
    item_folder_name,
    item_folder_names,
    run_batch,
    usable_cores,
)

__all__ = [
    "DONE_STATUSES",
    "LEDGER_NAME",
    "MANIFEST_COLUMNS",
    "MARKER_UNITS",
    "OPTION_COLUMNS",
    "PROGRESS_TOPIC",
    "BatchItem",
    "BatchRun",
    "ItemOutcome",
    "ItemSettings",
    "Ledger",
    "ManifestError",
    "accepted_options",
    "analyze_item",
    "compute_input_sha256",
    "compute_item_key",
    "discover_items",
    "item_folder_name",
    "item_folder_names",
    "iter_result_rows",
    "looks_like_marker_table",
    "read_manifest",
    "run_batch",
    "task_names",
    "usable_cores",
    "write_cohort_outputs",
    "write_items_table",
]
