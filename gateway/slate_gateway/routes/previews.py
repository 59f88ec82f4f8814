"""Routes owned by the previews service: preview files, their pictures and
movies, annotations, backgrounds, thumbnails, playlists, build jobs and
shared review links. Binary routes run ``media:<fn>`` handlers (streamed,
see ``slate_gateway/media.py``)."""

from . import ANY, MANAGERS, PUBLIC, STAFF, SUPERVISORS, Route, crud

WRITERS = STAFF + ("vendor",)
PF = "/preview-files/<instance_id>"


def _media(path, variant, summary, download=False):
    fixed = {"variant": variant}
    if download:
        fixed["download"] = True
    return Route("GET", path, "previews", "media_info", ANY, fixed, handler="media:serve_preview", summary=summary)


def _thumbs(kind, label):
    base = f"/pictures/thumbnails/{kind}/<instance_id>"
    out = []
    for suffix in ("", ".png"):
        out.append(Route("GET", base + suffix, "previews", "thumbnail_info", ANY, {"kind": kind},
                         handler="media:serve_thumbnail", summary=f"The {label} thumbnail"))
        out.append(Route("POST", base + suffix, "previews", "set_thumbnail", ANY, {"kind": kind}, 201,
                         handler="media:upload_thumbnail", summary=f"Upload the {label} thumbnail"))
    return out


ROUTES = [
    *crud("preview-files", "previews", read=ANY, write=WRITERS, name="preview file"),
    *crud("playlists", "previews", read=ANY, write=SUPERVISORS, name="playlist"),
    *crud("preview-background-files", "previews", read=ANY, write=MANAGERS, name="preview background file"),
    Route("POST", "/actions/tasks/<task_id>/comments/<comment_id>/add-preview", "previews", "add_preview", WRITERS,
          status=201, summary="Add a preview file revision to a comment", body="object"),
    Route("POST", "/actions/tasks/<task_id>/comments/<comment_id>/preview-files/<preview_file_id>", "previews",
          "attach_preview_to_comment", WRITERS, status=201, summary="Attach a preview file to a comment"),
    Route("DELETE", "/actions/tasks/<task_id>/comments/<comment_id>/preview-files/<preview_file_id>", "previews",
          "remove_preview_from_comment", WRITERS, status=204, summary="Remove a preview file from a comment"),
    Route("POST", "/pictures" + PF, "previews", "upload_preview", WRITERS, status=201,
          handler="media:upload_preview", summary="Upload the file of a preview (streamed)"),
    _media("/pictures/originals" + PF + ".png", "original", "Original picture"),
    _media("/pictures/originals" + PF + ".<extension>", "original", "Original file"),
    _media("/pictures/originals" + PF + "/download", "source", "Download the uploaded file", download=True),
    _media("/pictures/previews" + PF + ".png", "previews", "Preview-size picture"),
    _media("/pictures/thumbnails" + PF + ".png", "thumbnails", "Thumbnail"),
    _media("/pictures/thumbnails-square" + PF + ".png", "thumbnails-square", "Square thumbnail"),
    _media("/movies/low" + PF + ".mp4", "lowdef", "Low definition movie"),
    _media("/movies/originals" + PF + ".mp4", "movie", "Normalised movie"),
    _media("/movies/originals" + PF + "/download", "movie", "Download the normalised movie", download=True),
    _media("/movies/source" + PF + ".mp4", "source", "The movie as uploaded"),
    _media("/movies/tiles" + PF + ".png", "tiles", "Scrubbing tiles of a movie"),
    *_thumbs("persons", "person's avatar"),
    *_thumbs("organisations", "organisation's logo"),
    *_thumbs("projects", "project's"),
    Route("PUT", "/actions/preview-files/<preview_file_id>/update-annotations", "previews", "update_annotations",
          ANY, summary="Merge annotation additions, updates and deletions", body="object"),
    Route("PUT", "/actions/preview-files/<preview_file_id>/update-position", "previews", "update_position",
          WRITERS, summary="Move a preview file within its revision", body="object"),
    Route("GET", "/data/tasks/<task_id>/previews", "previews", "task_previews", ANY,
          summary="Preview files of a task"),
    Route("GET", "/data/entities/<entity_id>/preview-files", "previews", "entity_preview_files", ANY,
          summary="Preview files of an entity, by task type"),
    Route("GET", "/data/shots/<shot_id>/preview-files", "previews", "entity_preview_files", ANY,
          summary="Preview files of a shot, by task type"),
    Route("GET", "/data/edits/<edit_id>/preview-files", "previews", "entity_preview_files", ANY,
          summary="Preview files of an edit"),
    Route("GET", "/data/concepts/<concept_id>/preview-files", "previews", "entity_preview_files", ANY,
          summary="Preview files of a concept"),
    Route("GET", "/data/projects/<project_id>/preview-files", "previews", "project_preview_files", ANY,
          summary="Preview files of a project"),
    Route("GET", "/data/playlists/preview-files/running", "previews", "running_preview_files", MANAGERS,
          summary="Preview files still processing"),
    Route("GET", "/data/projects/<project_id>/playlists", "previews", "project_playlists", ANY,
          summary="Playlists of a project (paged by 20)"),
    Route("GET", "/data/projects/<project_id>/playlists/all", "previews", "all_project_playlists", ANY,
          summary="All playlists of a project"),
    Route("GET", "/data/projects/<project_id>/episodes/<episode_id>/playlists", "previews", "episode_playlists",
          ANY, summary="Playlists of an episode"),
    Route("GET", "/data/projects/<project_id>/playlists/<playlist_id>", "previews", "project_playlist", ANY,
          summary="A playlist with its entries and build jobs"),
    Route("POST", "/data/projects/<project_id>/playlists/temp", "previews", "temp_playlist", ANY,
          summary="A temporary playlist for a list of tasks", body="object"),
    Route("POST", "/actions/playlists/<playlist_id>/add-entity", "previews", "add_entity", SUPERVISORS,
          summary="Add an entity (and its preview) to a playlist", body="object"),
    Route("POST", "/actions/playlists/<playlist_id>/add-entities", "previews", "add_entities", SUPERVISORS,
          summary="Add entities to a playlist"),
    Route("GET", "/data/playlists/entities/<entity_id>/preview-files", "previews", "entity_playlist_previews", ANY,
          summary="Preview files of an entity for playlists"),
    Route("GET", "/data/playlists/<playlist_id>/build/mp4", "previews", "build_playlist", ANY,
          {"job_type": "movie"}, summary="Start building the playlist's movie"),
    Route("GET", "/data/playlists/<playlist_id>/download/zip", "previews", "build_playlist", ANY,
          {"job_type": "archive"}, summary="Start building a zip of the playlist's files"),
    Route("GET", "/data/playlists/<playlist_id>/jobs/<build_job_id>", "previews", "get_build_job", ANY,
          summary="A build job"),
    Route("DELETE", "/data/playlists/<playlist_id>/jobs/<build_job_id>", "previews", "delete_build_job",
          SUPERVISORS, status=204, summary="Delete a build job and its file"),
    Route("GET", "/data/playlists/<playlist_id>/jobs/<build_job_id>/build/mp4", "previews", "build_info", ANY,
          handler="media:serve_build", summary="Download a build's result"),
    Route("GET", "/data/projects/<project_id>/build-jobs", "previews", "project_build_jobs", ANY,
          summary="Build jobs of a project"),
    Route("POST", "/data/playlists/<playlist_id>/share", "previews", "share_playlist", SUPERVISORS, status=201,
          summary="Create a shared review link"),
    Route("GET", "/data/playlists/<playlist_id>/share", "previews", "playlist_shares", SUPERVISORS,
          summary="Shared review links of a playlist"),
    Route("DELETE", "/data/playlists/<playlist_id>/share/<token>", "previews", "unshare_playlist", SUPERVISORS,
          status=204, summary="Revoke a shared review link"),
    Route("GET", "/shared/playlists/<token>", "previews", "shared_playlist", PUBLIC,
          summary="A shared playlist (the token is the access)"),
    Route("GET", "/shared/playlists/<token>/context", "previews", "shared_context", PUBLIC,
          summary="Project context of a shared playlist"),
    Route("GET", "/shared/playlists/<token>/preview-files/<preview_file_id>", "previews", "shared_preview_file",
          PUBLIC, summary="A preview file of a shared playlist"),
    Route("GET", "/shared/playlists/<token>/pictures/thumbnails/preview-files/<preview_file_id>.png", "previews",
          "shared_media_info", PUBLIC, {"variant": "thumbnails"}, handler="media:serve_shared",
          summary="Thumbnail in a shared playlist"),
    Route("GET", "/shared/playlists/<token>/pictures/originals/preview-files/<preview_file_id>.png", "previews",
          "shared_media_info", PUBLIC, {"variant": "original"}, handler="media:serve_shared",
          summary="Picture in a shared playlist"),
    Route("GET", "/shared/playlists/<token>/movies/originals/preview-files/<preview_file_id>.mp4", "previews",
          "shared_media_info", PUBLIC, {"variant": "movie"}, handler="media:serve_shared",
          summary="Movie in a shared playlist"),
    Route("GET", "/shared/playlists/<token>/movies/tiles/preview-files/<preview_file_id>.png", "previews",
          "shared_media_info", PUBLIC, {"variant": "tiles"}, handler="media:serve_shared",
          summary="Tiles in a shared playlist"),
]

# Preview backgrounds (HDR/EXR environment maps for the 3D viewer).
BACKGROUND_ROUTES = [
    Route("POST", "/pictures/preview-background-files/<instance_id>", "previews", "set_background_file", MANAGERS,
          status=201, handler="media:upload_background", summary="Upload a preview background (HDR, EXR, picture)"),
    Route("POST", "/pictures/thumbnails/preview-background-files/<instance_id>.png", "previews",
          "set_background_file", MANAGERS, status=201, handler="media:upload_background",
          summary="Upload a preview background"),
    Route("GET", "/pictures/preview-background-files/<instance_id>.<extension>", "previews", "background_info", ANY,
          {"variant": "file"}, handler="media:serve_background", summary="A preview background file"),
    Route("GET", "/pictures/thumbnails/preview-background-files/<instance_id>.png", "previews", "background_info",
          ANY, {"variant": "thumbnail"}, handler="media:serve_background", summary="A preview background's thumbnail"),
]

NOT_SERVED = {
}

ROUTES += BACKGROUND_ROUTES


def _extract(suffix, rpc, summary, roles=ANY, **fixed):
    return Route("GET", "/actions/preview-files/<preview_file_id>/" + suffix, "previews", rpc, roles, fixed,
                 handler="media:serve_extract", summary=summary)


# Files made on request by the previews service (ffmpeg, Pillow), streamed
# from storage. The fine check (admin, or manager of the project, as Zou's
# check_manager_project_access) is the service's.
ROUTES += [
    _extract("extract-frame", "extract_frame", "A frame of a movie preview as PNG (?frame_number=, 1-based)",
             MANAGERS),
    _extract("extract-tile", "extract_tile", "Make a movie preview's scrubbing tiles again (PNG)"),
    _extract("extract-annotated-frame", "extract_annotated_frame",
             "A frame (movie, ?frame_number=) or the picture with its annotation drawn, as PNG", MANAGERS),
    _extract("extract-annotated-frames", "extract_annotated_frames",
             "Every annotated frame with its drawing, as a zip of PNGs", MANAGERS, fmt="zip"),
    _extract("extract-annotated-frames-pdf", "extract_annotated_frames",
             "Every annotated frame with its drawing, one PDF page each", MANAGERS, fmt="pdf"),
    Route("GET", "/pictures/thumbnails/attachment-files/<attachment_file_id>.png", "tasks", "attachment_download",
          ANY, handler="media:serve_attachment_thumbnail", summary="Thumbnail of a picture attached to a comment"),
]

def _shared(method, suffix, rpc, summary, status=200, handler="shared_call", body=None, **fixed):
    return Route(method, "/shared/playlists/<token>" + suffix, "previews", rpc, PUBLIC, fixed, status,
                 handler=handler, summary=summary, body=body)


# The guest flow of shared review links (services/previews/README.md, "Shared
# links and guests"): the token in the path is the access, a guest names
# itself with ``guest_id``; no token is taken or issued. Errors Zou answers as
# a bare ``{"error": "..."}`` keep that shape (handlers.shared_call).
ROUTES += [
    _shared("POST", "/guest", "shared_guest", "Create (201) or find again (200) a guest of the link",
            handler="shared_guest", body="object"),
    _shared("GET", "/comments", "shared_comments", "Comments the link shows: for the client or from guests"),
    _shared("POST", "/comments", "shared_post_comment", "A guest comments a task of the playlist", 201,
            body="object"),
    _shared("PUT", "/comments/<comment_id>", "shared_update_comment", "A guest edits its own comment",
            body="object"),
    _shared("DELETE", "/comments/<comment_id>", "shared_delete_comment", "A guest deletes its own comment", 204),
    _shared("POST", "/comments/<comment_id>/attachments", "shared_add_attachments",
            "A guest attaches files to its own comment (multipart, streamed)", 201,
            handler="media:upload_shared_attachments"),
    _shared("DELETE", "/comments/<comment_id>/attachments/<attachment_file_id>", "shared_delete_attachment",
            "A guest removes an attachment of its own comment", 204),
    _shared("GET", "/attachment-files/<attachment_file_id>/file/<file_name>", "shared_attachment_info",
            "An attachment of a comment the link shows", handler="media:serve_shared_info"),
    _shared("PUT", "/annotations", "shared_annotations", "A guest's annotation edits on a preview of the playlist",
            body="object"),
    _shared("GET", "/pictures/originals/preview-files/<preview_file_id>.<extension>", "shared_file_info",
            "A preview's original file in the playlist, by extension", handler="media:serve_shared_info",
            variant="extension"),
    _shared("GET", "/pictures/thumbnails/persons/<person_id>.png", "shared_person_thumbnail_info",
            "Avatar of an author of a comment the link shows", handler="media:serve_shared_info"),
    _shared("GET", "/preview-files/<preview_file_id>/download", "shared_file_info",
            "Download a preview of the playlist", handler="media:serve_shared_info", variant="download"),
    Route("POST", "/data/playlists/<playlist_id>/notify-clients", "previews", "notify_clients", MANAGERS,
          summary="Notify the project's clients (maybe of a studio or department) that a playlist is ready"),
    Route("POST", "/data/playlists/<playlist_id>/share/<token>/invite", "previews", "invite_share", MANAGERS,
          handler="shared_call", summary="Mail a shared review link to addresses and persons", body="object"),
]
