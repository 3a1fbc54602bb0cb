"""Task, review and catalog pages (thin: parse, call one service or selector, render)."""

from tasks.views.catalogs import (
    catalog_add,
    catalog_detail,
    catalog_export,
    catalog_export_download,
    catalog_list,
)
from tasks.views.review import (
    task_action,
    task_detail,
    task_edit,
    task_list,
    task_preview,
    task_regenerate,
)

__all__ = [
    "catalog_add", "catalog_detail", "catalog_export", "catalog_export_download", "catalog_list",
    "task_action", "task_detail", "task_edit", "task_list", "task_preview", "task_regenerate",
]
