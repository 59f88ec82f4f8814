"""Routes owned by the files service: working and output files, output
types, softwares, file status, file tree and path generation."""

from . import ANY, MANAGERS, STAFF, Route, crud

_AI = "/data/asset-instances/<asset_instance_id>/entities/<temporal_entity_id>"

ROUTES = [
    *crud("output-types", "files", read=ANY, write=MANAGERS, name="output type"),
    *crud("softwares", "files", read=ANY, write=MANAGERS, name="software"),
    *crud("file-status", "files", read=ANY, write=MANAGERS, name="file status"),
    *crud("working-files", "files", read=ANY, write=STAFF, name="working file"),
    *crud("output-files", "files", read=ANY, write=STAFF, name="output file"),
    Route("GET", "/data/files/<file_id>", "files", "get_file", ANY, summary="A working or output file by id"),
    Route("POST", "/data/tasks/<task_id>/working-files/new", "files", "new_working_file", STAFF, status=201,
          summary="New working file revision for a task", body="object"),
    Route("GET", "/data/tasks/<task_id>/working-files", "files", "task_working_files", ANY,
          summary="Working files of a task"),
    Route("GET", "/data/tasks/<task_id>/working-files/last-revisions", "files", "last_working_files", ANY,
          summary="Last revision of each working file of a task, by name"),
    Route("POST", "/data/tasks/<task_id>/working-file-path", "files", "working_file_path", ANY,
          summary="Folder and file name a working file of the task would have", body="object"),
    Route("GET", "/data/entities/<entity_id>/working-files", "files", "entity_working_files", ANY,
          summary="Working files of an entity"),
    Route("PUT", "/actions/working-files/<working_file_id>/comment", "files", "comment_working_file", STAFF,
          summary="Set a working file's comment", body="object"),
    Route("PUT", "/actions/working-files/<working_file_id>/modified", "files", "modified_working_file", STAFF,
          summary="Mark a working file as modified now"),
    Route("POST", "/data/entities/<entity_id>/output-files/new", "files", "new_entity_output_file", STAFF,
          status=201, summary="New output file revision for an entity", body="object"),
    Route("POST", "/data/entities/<entity_id>/output-files/next-revision", "files", "next_entity_output_revision",
          ANY, summary="Next output revision number for an entity", body="object"),
    Route("POST", "/data/entities/<entity_id>/output-file-path", "files", "entity_output_file_path", ANY,
          summary="Folder and file name of an entity's output file", body="object"),
    Route("GET", "/data/entities/<entity_id>/output-files", "files", "entity_output_files", ANY,
          summary="Output files of an entity"),
    Route("GET", "/data/entities/<entity_id>/output-files/last-revisions", "files", "entity_last_output_files", ANY,
          summary="Last revision of each output file of an entity"),
    Route("GET", "/data/entities/<entity_id>/output-types", "files", "entity_output_types", ANY,
          summary="Output types used by an entity's output files"),
    Route("GET", "/data/entities/<entity_id>/output-types/<output_type_id>/output-files", "files",
          "entity_output_type_files", ANY, summary="Output files of an entity for one output type"),
    Route("POST", _AI + "/output-files/new", "files", "new_instance_output_file", STAFF, status=201,
          summary="New output file for an asset instance in a shot or scene", body="object"),
    Route("POST", _AI + "/output-files/next-revision", "files", "next_instance_output_revision", ANY,
          summary="Next output revision of an asset instance", body="object"),
    Route("POST", _AI + "/output-file-path", "files", "instance_output_file_path", ANY,
          summary="Folder and file name of an asset instance's output file", body="object"),
    Route("GET", _AI + "/output-files/last-revisions", "files", "instance_last_output_files", ANY,
          summary="Last output revisions of an asset instance"),
    Route("GET", _AI + "/output-types", "files", "instance_output_types", ANY,
          summary="Output types of an asset instance's outputs"),
    Route("GET", _AI + "/output-types/<output_type_id>/output-files", "files", "instance_output_type_files", ANY,
          summary="Output files of an asset instance for one output type"),
    Route("GET", "/data/asset-instances/<asset_instance_id>/output-files", "files", "instance_output_files", ANY,
          summary="Output files of an asset instance"),
    Route("GET", "/data/projects/<project_id>/output-files", "files", "project_output_files", ANY,
          summary="Output files of a project"),
    Route("POST", "/actions/projects/<project_id>/set-file-tree", "files", "set_file_tree", MANAGERS,
          summary="Set a project's file tree (by name or as JSON)", body="object"),
    Route("POST", "/data/entities/guess-from-path", "files", "guess_from_path", ANY,
          summary="Entities a file path points at", body="object"),
    Route("POST", "/data/entities/guess_from_path", "files", "guess_from_path", ANY,
          summary="Entities a file path points at", body="object"),
]

# A working file's bytes: streamed by the gateway to storage, never through
# RabbitMQ; the files service checks access and records the size.
ROUTES += [
    Route("GET", "/data/working-files/<working_file_id>/file", "files", "working_file_download", ANY,
          handler="media:serve_working_file", summary="Download a working file's stored bytes"),
    Route("POST", "/data/working-files/<working_file_id>/file", "files", "set_working_file_binary", ANY,
          status=201, handler="media:upload_working_file",
          summary="Store a working file's bytes (multipart or raw body, streamed)"),
]

NOT_SERVED: dict = {}
