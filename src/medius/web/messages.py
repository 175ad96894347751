"""User-facing messages of the web app, shared by the pages, the JSON API and its OpenAPI examples."""

CSRF_FAILED = (
    "The form has expired or did not come from this app (CSRF check failed); reload the page and try again."
)
NOT_SIGNED_IN = "Sign in first."
ADMIN_ONLY = "Only an administrator of the clinic can do this."
SIGN_IN_FAILED = (
    "Sign-in failed: wrong e-mail or password, or the account is locked after repeated failures "
    "(try again later)."
)
NOT_FOUND = "Not found (or not in your clinic)."
PATIENT_NOT_FOUND = "Patient not found (or not in your clinic)."
VISIT_NOT_FOUND = "Visit not found (or not in your clinic)."
RECORDING_NOT_FOUND = "Recording not found (or not in your clinic)."
JOB_NOT_FOUND = "Analysis not found (or not in your clinic)."
EMAIL_TAKEN = "A user with this e-mail address already exists."
UPLOAD_TOO_LARGE = "The file is larger than the upload limit of {limit_mb} MB."
UPLOAD_EMPTY = "No file was uploaded."
UPLOAD_BAD_NAME = "The file name must be a plain name without folders (got {name!r})."
UPLOAD_NOT_VIDEO = "Not a video this app can analyse: {reason}"
UPLOAD_NOT_MARKERS = "Not a marker or keypoint file this app can analyse: {reason}"
UPLOAD_UNREADABLE = "The file could not be read safely: {reason}"
UPLOAD_BAD_FORM = "The upload form is malformed: {reason}"
UNKNOWN_TASK = "Unknown task {task!r}; allowed: {allowed}."
NO_RESULT = "This analysis has no result yet."
CLINIC_LIBRARY_MISSING = "The clinical-assessment library (medius.clinic) is not installed in this version."
