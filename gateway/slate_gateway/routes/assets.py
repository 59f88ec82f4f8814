"""Routes owned by the assets service: projects and the breakdown.

Coarse roles here; the service checks project membership, per-project roles
and vendor/client scoping on its own data (a member whose global role is
``user`` may be a manager on one project, so most writes are open to every
role at this level)."""

from . import ADMIN, ANY, MANAGERS, STAFF, Route, crud

A = "assets"


def R(method, path, rpc, roles=ANY, status=None, body=None, **fixed):
    if status is None:
        status = 201 if method == "POST" else 204 if method == "DELETE" else 200
    if body is None and method in ("POST", "PUT"):
        body = "object"
    return Route(method, path, A, rpc, roles, fixed, status, body=body if body != "any" else None,
                 summary=f"{rpc} {' '.join(f'{k}={v}' for k, v in fixed.items())}".strip())


def entity_routes(kind: str, plural: str) -> list[Route]:
    """List, all, with-tasks, get, delete of one entity kind at /data/<plural>."""
    one = f"{kind.replace('-', '_')}_id"
    listing = {"names": True} if kind == "edit" else {}  # Zou's /data/edits carries project_name
    return [
        R("GET", f"/data/{plural}", "list_entities", kind=kind, **listing),
        R("GET", f"/data/{plural}/all", "list_entities", kind=kind, names=True),
        R("GET", f"/data/{plural}/with-tasks", "list_entities", kind=kind, with_tasks=True),
        R("GET", f"/data/{plural}/<{one}>", "get_entity_detail", kind=kind),
        R("DELETE", f"/data/{plural}/<{one}>", "delete_entity", kind=kind),
    ]


ROUTES = [
    # -------------------------------------------------------------- projects
    *crud("projects", A, read=ANY, write=ANY, name="project"),
    *crud("project-status", A, read=ANY, write=ADMIN, name="project status"),
    *crud("entity-types", A, read=ANY, write=ADMIN, name="entity type"),
    *crud("entities", A, read=ANY, write=ANY, name="entity"),
    *crud("entity-links", A, read=ANY, write=STAFF, name="entity link"),
    *crud("asset-instances", A, read=ANY, write=STAFF, name="asset instance"),
    *crud("custom-actions", A, read=ANY, write=ADMIN, name="custom action"),
    *crud("metadata-descriptors", A, read=ANY, write=ANY, name="metadata descriptor"),
    *crud("project-templates", A, read=MANAGERS, write=MANAGERS, name="project template"),
    R("GET", "/data/projects/all", "get_projects"),
    R("GET", "/data/projects/open", "get_open_projects"),
    R("GET", "/data/projects/<project_id>/team", "get_project_team_persons"),
    R("POST", "/data/projects/<project_id>/team", "add_team_member"),
    R("PUT", "/data/projects/<project_id>/team/<person_id>", "update_team_member"),
    R("DELETE", "/data/projects/<project_id>/team/<person_id>", "remove_team_member"),
    R("POST", "/data/projects/<project_id>/settings/asset-types", "add_project_link", kind="asset-types"),
    R("DELETE", "/data/projects/<project_id>/settings/asset-types/<asset_type_id>", "remove_project_link", kind="asset-types"),
    R("GET", "/data/projects/<project_id>/settings/status-automations", "get_project_links", kind="status-automations"),
    R("POST", "/data/projects/<project_id>/settings/status-automations", "add_project_link", kind="status-automations"),
    R("DELETE", "/data/projects/<project_id>/settings/status-automations/<status_automation_id>", "remove_project_link",
      kind="status-automations"),
    R("GET", "/data/projects/<project_id>/settings/preview-background-files", "get_project_links", kind="preview-background-files"),
    R("POST", "/data/projects/<project_id>/settings/preview-background-files", "add_project_link", kind="preview-background-files"),
    R("DELETE", "/data/projects/<project_id>/settings/preview-background-files/<preview_background_file_id>",
      "remove_project_link", kind="preview-background-files"),
    R("POST", "/data/projects/<project_id>/settings/task-types", "add_project_task_type"),
    R("DELETE", "/data/projects/<project_id>/settings/task-types/<task_type_id>", "remove_project_task_type"),
    R("GET", "/data/projects/<project_id>/settings/task-status", "get_project_task_statuses"),
    R("POST", "/data/projects/<project_id>/settings/task-status", "add_project_task_status"),
    R("PUT", "/data/projects/<project_id>/settings/task-status/<task_status_id>", "update_project_task_status"),
    R("DELETE", "/data/projects/<project_id>/settings/task-status/<task_status_id>", "remove_project_task_status"),
    R("POST", "/data/projects/<project_id>/settings/batch", "settings_batch"),
    R("GET", "/data/projects/<project_id>/task-types", "get_project_task_types"),
    R("GET", "/data/projects/<project_id>/task-type-softwares", "task_type_softwares", action="list"),
    R("POST", "/data/projects/<project_id>/task-types/<task_type_id>/softwares", "task_type_softwares", action="add"),
    R("DELETE", "/data/projects/<project_id>/task-types/<task_type_id>/softwares/<software_id>", "task_type_softwares",
      action="remove"),
    R("POST", "/data/task-type-links", "create_task_type_link", MANAGERS),
    R("POST", "/data/task-status-links", "create_task_status_link", MANAGERS),
    R("POST", "/actions/projects/<project_id>/task-type-links/reorder", "reorder_links", body="any", kind="task-types",
      status=200),
    R("POST", "/actions/projects/<project_id>/task-status-links/reorder", "reorder_links", body="any",
      kind="task-statuses", status=200),
    R("GET", "/data/projects/<project_id>/preview-account", "preview_account", MANAGERS, action="get"),
    R("POST", "/data/projects/<project_id>/preview-account", "preview_account", MANAGERS, action="create"),
    R("PUT", "/data/projects/<project_id>/preview-account", "preview_account", MANAGERS, action="update"),
    R("DELETE", "/data/projects/<project_id>/preview-account", "preview_account", MANAGERS, action="delete"),
    # -------------------------------------------------------------- templates
    R("POST", "/data/project-templates/from-project/<project_id>", "template_from_project", MANAGERS),
    R("POST", "/data/projects/<project_id>/apply-template/<project_template_id>", "apply_template", status=200),
    *[r for kind in ("task-types", "task-statuses", "asset-types", "status-automations", "preview-background-files")
      for r in (
          R("GET", f"/data/project-templates/<project_template_id>/{kind}", "template_links", MANAGERS, kind=kind,
            action="list"),
          R("POST", f"/data/project-templates/<project_template_id>/{kind}", "template_links", MANAGERS, kind=kind,
            action="add"),
          R("DELETE", f"/data/project-templates/<project_template_id>/{kind}/<"
            + {"task-types": "task_type_id", "task-statuses": "task_status_id", "asset-types": "asset_type_id",
               "status-automations": "status_automation_id",
               "preview-background-files": "preview_background_file_id"}[kind] + ">",
            "template_links", MANAGERS, kind=kind, action="remove"),
      )],
    R("POST", "/actions/project-templates/<project_template_id>/task-types/reorder", "template_links", MANAGERS,
      body="any", status=200, kind="task-types", action="reorder"),
    R("POST", "/actions/project-templates/<project_template_id>/task-statuses/reorder", "template_links", MANAGERS,
      body="any", status=200, kind="task-statuses", action="reorder"),
    R("PUT", "/data/project-templates/<project_template_id>/metadata-descriptors", "template_settings", MANAGERS,
      body="any", what="metadata-descriptors"),
    R("PUT", "/data/project-templates/<project_template_id>/default-preview-background-file", "template_settings",
      MANAGERS, what="default-preview-background-file"),
    # -------------------------------------------------------------- metadata descriptors
    R("GET", "/data/projects/<project_id>/metadata-descriptors", "get_project_descriptors"),
    R("POST", "/data/projects/<project_id>/metadata-descriptors", "create_project_descriptor"),
    R("GET", "/data/projects/<project_id>/metadata-descriptors/<metadata_descriptor_id>", "get_project_descriptor"),
    R("PUT", "/data/projects/<project_id>/metadata-descriptors/<metadata_descriptor_id>", "update_project_descriptor"),
    R("DELETE", "/data/projects/<project_id>/metadata-descriptors/<metadata_descriptor_id>", "delete_project_descriptor"),
    R("POST", "/data/projects/<project_id>/metadata-descriptors/reorder", "reorder_project_descriptors", status=200),
    R("POST", "/data/metadata-descriptors/all-projects", "descriptors_all_projects", ADMIN, action="create"),
    R("PUT", "/data/metadata-descriptors/all-projects/<field_name>", "descriptors_all_projects", ADMIN, action="update"),
    R("DELETE", "/data/metadata-descriptors/all-projects/<field_name>", "descriptors_all_projects", ADMIN,
      action="delete"),
    R("POST", "/actions/metadata-descriptors/all-projects/reorder", "descriptors_all_projects", ADMIN, status=200,
      action="reorder"),
    # -------------------------------------------------------------- asset types, assets
    R("GET", "/data/asset-types", "get_asset_types"),
    R("GET", "/data/asset-types/<asset_type_id>", "get_asset_type"),
    R("GET", "/data/projects/<project_id>/asset-types", "get_project_asset_types"),
    R("GET", "/data/shots/<shot_id>/asset-types", "get_shot_asset_types"),
    R("GET", "/data/user/projects/<project_id>/asset-types", "user_project_asset_types"),
    R("GET", "/data/user/projects/<project_id>/asset-types/<asset_type_id>/assets", "list_entities", kind="asset"),
    *entity_routes("asset", "assets"),
    R("GET", "/data/projects/<project_id>/assets", "list_entities", kind="asset"),
    R("GET", "/data/projects/<project_id>/asset-types/<asset_type_id>/assets", "list_entities", kind="asset"),
    R("POST", "/data/projects/<project_id>/asset-types/<asset_type_id>/assets/new", "create_entity", kind="asset"),
    R("GET", "/data/assets/<asset_id>/assets", "get_linked_assets"),
    R("GET", "/data/shots/<shot_id>/assets", "get_linked_assets"),
    R("GET", "/data/assets/<asset_id>/cast-in", "get_cast_in"),
    R("GET", "/data/assets/<asset_id>/casting", "get_casting"),
    R("PUT", "/data/assets/<asset_id>/casting", "update_casting", body="any"),
    R("GET", "/data/assets/<asset_id>/shot-asset-instances", "get_asset_instances", target="shot"),
    R("GET", "/data/assets/<asset_id>/scene-asset-instances", "get_asset_instances", target="scene"),
    R("GET", "/data/assets/<asset_id>/asset-asset-instances", "get_asset_instances", target="asset"),
    R("POST", "/data/assets/<asset_id>/asset-asset-instances", "add_asset_asset_instance"),
    R("GET", "/data/projects/<project_id>/assets/shared-used", "get_shared_used_assets"),
    R("GET", "/data/projects/<project_id>/episodes/<episode_id>/assets/shared-used", "get_shared_used_assets"),
    R("POST", "/actions/assets/share", "share_assets", status=200),
    R("POST", "/actions/projects/<project_id>/assets/share", "share_assets", status=200),
    R("POST", "/actions/projects/<project_id>/asset-types/<asset_type_id>/assets/share", "share_assets", status=200),
    # -------------------------------------------------------------- episodes, sequences, shots
    *[r for r in entity_routes("episode", "episodes") if not r.path.endswith("/all")],
    R("GET", "/data/projects/<project_id>/episodes", "list_entities", kind="episode"),
    R("POST", "/data/projects/<project_id>/episodes", "create_entity", kind="episode"),
    R("GET", "/data/user/projects/<project_id>/episodes", "list_entities", kind="episode"),
    R("GET", "/data/episodes/<episode_id>/sequences", "list_entities", kind="sequence"),
    R("GET", "/data/episodes/<episode_id>/shots", "list_entities", kind="shot"),
    R("GET", "/data/episodes/<episode_id>/edits", "list_entities", kind="edit"),
    *[r for r in entity_routes("sequence", "sequences") if not r.path.endswith("/all")],
    R("GET", "/data/projects/<project_id>/sequences", "list_entities", kind="sequence"),
    R("POST", "/data/projects/<project_id>/sequences", "create_entity", kind="sequence"),
    R("GET", "/data/user/projects/<project_id>/sequences", "list_entities", kind="sequence"),
    R("GET", "/data/sequences/<sequence_id>/shots", "list_entities", kind="shot"),
    R("GET", "/data/sequences/<sequence_id>/scenes", "list_entities", kind="scene"),
    R("GET", "/data/user/sequences/<sequence_id>/shots", "list_entities", kind="shot"),
    R("GET", "/data/user/sequences/<sequence_id>/scenes", "list_entities", kind="scene"),
    *entity_routes("shot", "shots"),
    R("PUT", "/data/shots/<shot_id>", "update_entity"),
    R("GET", "/data/shots/<shot_id>/versions", "get_entity_versions"),
    R("GET", "/data/projects/<project_id>/shots", "list_entities", kind="shot"),
    R("POST", "/data/projects/<project_id>/shots", "create_entity", kind="shot"),
    R("GET", "/data/shots/<shot_id>/asset-instances", "get_asset_instances"),
    R("POST", "/data/shots/<shot_id>/asset-instances", "add_shot_asset_instance"),
    R("DELETE", "/data/shots/<shot_id>/asset-instances/<asset_instance_id>", "remove_shot_asset_instance"),
    # -------------------------------------------------------------- scenes
    *[r for r in entity_routes("scene", "scenes") if r.path != "/data/scenes"],
    R("GET", "/data/projects/<project_id>/scenes", "list_entities", kind="scene"),
    R("POST", "/data/projects/<project_id>/scenes", "create_entity", kind="scene"),
    R("GET", "/data/scenes/<scene_id>/shots", "list_entities", kind="shot", names=True),
    R("POST", "/data/scenes/<scene_id>/shots", "add_shot_to_scene", status=200),
    R("DELETE", "/data/scenes/<scene_id>/shots/<shot_id>", "remove_shot_from_scene"),
    R("GET", "/data/scenes/<scene_id>/asset-instances", "get_asset_instances", target="scene"),
    R("POST", "/data/scenes/<scene_id>/asset-instances", "add_scene_asset_instance"),
    R("GET", "/data/scenes/<scene_id>/camera-instances", "get_asset_instances", target="camera"),
    # -------------------------------------------------------------- edits, concepts
    *entity_routes("edit", "edits"),
    R("GET", "/data/edits/<edit_id>/versions", "get_entity_versions"),
    R("GET", "/data/projects/<project_id>/edits", "list_entities", kind="edit"),
    R("POST", "/data/projects/<project_id>/edits", "create_entity", kind="edit"),
    *[r for r in entity_routes("concept", "concepts") if not r.path.endswith("/all")],
    R("GET", "/data/projects/<project_id>/concepts", "list_entities", kind="concept"),
    R("POST", "/data/projects/<project_id>/concepts", "create_entity", kind="concept"),
    R("GET", "/data/projects/<project_id>/concept-folders", "list_entities", kind="concept-folder"),
    R("POST", "/data/projects/<project_id>/concept-folders", "create_entity", kind="concept-folder"),
    R("PUT", "/data/concept-folders/<concept_folder_id>", "update_concept_folder"),
    R("DELETE", "/data/concept-folders/<concept_folder_id>", "delete_entity", kind="concept-folder"),
    R("POST", "/actions/projects/<project_id>/move-concepts", "move_concepts", status=200),
    R("POST", "/actions/projects/<project_id>/delete-entities", "delete_entities", body="any", status=200),
    # -------------------------------------------------------------- casting
    R("GET", "/data/projects/<project_id>/entities/<entity_id>/casting", "get_casting"),
    R("PUT", "/data/projects/<project_id>/entities/<entity_id>/casting", "update_casting", body="any"),
    R("PUT", "/data/projects/<project_id>/entities/casting", "update_castings", body="any"),
    R("PUT", "/data/projects/<project_id>/entities/casting/assets/<asset_id>", "cast_asset"),
    R("GET", "/data/projects/<project_id>/sequences/<sequence_id>/casting", "get_sequence_casting"),
    R("GET", "/data/projects/<project_id>/sequences/all/casting", "get_all_sequences_casting"),
    R("GET", "/data/projects/<project_id>/episodes/<episode_id>/sequences/all/casting", "get_all_sequences_casting"),
    R("GET", "/data/projects/<project_id>/episodes/casting", "get_episodes_casting"),
    R("GET", "/data/projects/<project_id>/asset-types/<asset_type_id>/casting", "get_asset_type_casting"),
    R("GET", "/data/projects/<project_id>/entity-links", "get_project_entity_links"),
    R("DELETE", "/data/projects/<project_id>/entity-links/<entity_link_id>", "delete_project_entity_link", status=200),
    # -------------------------------------------------------------- previews, user
    R("PUT", "/actions/preview-files/<preview_file_id>/set-main-preview", "set_main_preview", body="any"),
    R("PUT", "/actions/tasks/<task_id>/set-main-preview", "set_main_preview", body="any"),
    R("PUT", "/actions/tasks/set-main-preview", "set_main_preview", body="any"),
    R("GET", "/data/user/projects/open", "user_open_projects"),
    R("GET", "/data/entities/<entity_id>/entities-linked/with-tasks", "get_entities_linked_with_tasks"),
    R("POST", "/actions/projects/<project_id>/task-types/<task_type_id>/set-shot-nb-frames", "set_shot_nb_frames",
      status=200),
]

NOT_SERVED: dict = {}
