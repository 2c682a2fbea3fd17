"""Error messages in English and Japanese, keyed by stable code, and Accept-Language negotiation."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import NamedTuple

LANGUAGES = ("en", "ja")
DEFAULT_LANGUAGE = "en"
MAX_RANGES = 20  # language ranges looked at in one Accept-Language header


class Message(NamedTuple):
    """One error: its status (0: any), its templates, and the broad `code` it is sent under."""

    status: int
    en: str
    ja: str
    code: str = ""  # "" when the key itself is the `code`; else the key is a specific `reason`


M = Message
INVALID_PARAMETER, NOT_FOUND, INVALID_VALUE = "invalid_parameter", "not_found", "invalid_value"
INVALID_STATE, ALREADY_EXISTS = "invalid_state", "already_exists"

CATALOG: dict[str, Message] = {
    "bad_request": M(400, "the request is not valid", "リクエストが正しくありません"),
    "malformed_json": M(400, "the request body is not valid JSON",
                        "リクエスト本文が正しい JSON ではありません"),
    "missing_body": M(400, "a JSON request body is required", "JSON のリクエスト本文が必要です"),
    "invalid_parameter": M(400, "a path or query parameter is invalid",
                           "パスまたはクエリのパラメータが正しくありません"),
    "if_match_invalid": M(400, 'If-Match must be a version, like "3"',
                          'If-Match にはバージョンを指定してください (例: "3")', INVALID_PARAMETER),
    "as_of_invalid": M(400, "as_of must be a version number or an ISO 8601 time",
                       "as_of にはバージョン番号または ISO 8601 形式の日時を指定してください",
                       INVALID_PARAMETER),
    "status_filter_invalid": M(400, "status must be one of: {allowed}",
                               "status には次のいずれかを指定してください: {allowed}",
                               INVALID_PARAMETER),
    "cursor_invalid": M(400, "the cursor is not valid", "カーソルが正しくありません",
                        INVALID_PARAMETER),
    "invalid_idempotency_key": M(
        400, "Idempotency-Key must be 1-255 printable ASCII characters",
        "Idempotency-Key は 1〜255 文字の印字可能な ASCII 文字で指定してください"),
    "json_too_deep": M(400, "the JSON body is nested deeper than {max} levels",
                       "JSON 本文の入れ子が {max} 階層を超えています"),
    "unknown_api_version": M(
        400, "unknown API version {version!r}; known versions: {known}",
        "API バージョン {version!r} は存在しません。利用できるバージョン: {known}"),
    "conflicting_api_version": M(
        400, "the Chronicle-Version header and the chronicle_version query parameter disagree",
        "Chronicle-Version ヘッダーと chronicle_version クエリパラメータの値が一致しません"),
    "domain_error": M(400, "the request was rejected by a business rule",
                      "業務ルールによりリクエストが拒否されました"),
    "unauthorized": M(401, "missing Authorization: Bearer <token>",
                      "Authorization: Bearer <token> ヘッダーがありません"),
    "invalid_token": M(401, "the bearer token is not valid", "Bearer トークンが無効です"),
    "invalid_api_key": M(401, "the API key is not valid, or was revoked or expired",
                         "API キーが無効、失効済み、または期限切れです"),
    "token_expired": M(401, "the access token has expired", "アクセストークンの有効期限が切れています"),
    "token_invalid": M(
        401, "the access token is not valid (signature, signing key, issuer, audience or claims)",
        "アクセストークンが無効です (署名、署名鍵、発行者、対象者またはクレーム)"),
    "token_revoked": M(401, "the access token or its session was revoked",
                       "アクセストークンまたはそのセッションは失効しています"),
    "refresh_token_invalid": M(401, "the refresh token is not valid or has expired",
                               "リフレッシュトークンが無効か期限切れです"),
    "refresh_token_reused": M(401, "the refresh token was already used; its session has been "
                              "revoked", "リフレッシュトークンは使用済みです。セッションは失効しました"),
    "session_required": M(403, "only a login session's access token can do this",
                          "この操作はログインセッションのアクセストークンでのみ行えます", "forbidden"),
    "pkce_method_unsupported": M(400, "codeChallengeMethod must be S256 (plain is not accepted)",
                                 "codeChallengeMethod には S256 を指定してください (plain は使えません)",
                                 "bad_request"),
    "invalid_signature": M(401, "the request signature is not valid",
                           "リクエスト署名が無効です"),
    "signature_required": M(401, "this API key requires a Chronicle-Signature header",
                            "この API キーには Chronicle-Signature ヘッダーが必要です",
                            "invalid_signature"),
    "signature_malformed": M(401, "Chronicle-Signature must look like t=<unix time>,v1=<64 hex>",
                             "Chronicle-Signature は t=<UNIX 時刻>,v1=<16 進 64 桁> の形式が必要です",
                             "invalid_signature"),
    "signature_expired": M(401, "the signature's timestamp is more than {skew} s from now",
                           "署名のタイムスタンプが現在時刻から {skew} 秒以上離れています",
                           "invalid_signature"),
    "signature_mismatch": M(401, "the signature does not match the request",
                            "署名がリクエストと一致しません", "invalid_signature"),
    "signature_replayed": M(401, "this signature was already used",
                            "この署名はすでに使用されています", "invalid_signature"),
    "forbidden": M(403, "you are not allowed to do this", "この操作を行う権限がありません"),
    "permission_denied": M(403, "this caller may not {action} {resource}",
                           "この呼び出し元には {resource} の {action} 権限がありません", "forbidden"),
    "permission_escalation": M(403, "a key cannot grant more than it holds",
                               "API キーは自身が持つ以上の権限を付与できません", "forbidden"),
    "https_required": M(403, "this API must be called over https",
                        "この API は https で呼び出す必要があります", "forbidden"),
    "ip_not_allowed": M(403, "requests from {ip} are not allowed by the organization's ipWhitelist",
                        "{ip} からのリクエストは組織の ipWhitelist で許可されていません",
                        "forbidden"),
    "organization_closed": M(403, "the organization has been deleted; its credentials no longer work",
                             "組織は削除されました。その認証情報は使用できません", "forbidden"),
    "organization_suspended": M(403, "the organization is suspended",
                                "組織は一時停止されています", "forbidden"),
    "operator_only": M(403, "only the platform operator may do this",
                       "この操作はプラットフォーム運用者のみが行えます", "forbidden"),
    "cors_preflight_rejected": M(
        403, "cross-origin requests are not allowed from this origin, with this method or headers",
        "このオリジン、メソッドまたはヘッダーでのクロスオリジンリクエストは許可されていません"),
    "not_found": M(404, "the requested resource was not found",
                   "指定されたリソースが見つかりません"),
    "organization_not_found": M(404, "organization not found", "組織が見つかりません", NOT_FOUND),
    "session_not_found": M(404, "session not found", "セッションが見つかりません", NOT_FOUND),
    "oauth_client_not_found": M(404, "OAuth client not found", "OAuth クライアントが見つかりません",
                                NOT_FOUND),
    "api_key_not_found": M(404, "API key not found", "API キーが見つかりません", NOT_FOUND),
    "oauth_client_exists": M(409, "OAuth client already exists",
                             "OAuth クライアントは既に存在します", ALREADY_EXISTS),
    "oauth_client_deleted": M(409, "OAuth client has been deleted",
                              "OAuth クライアントは削除されています", INVALID_STATE),
    "organization_suspended_no_clients": M(
        409, "a suspended organization cannot register OAuth clients",
        "停止中の組織は OAuth クライアントを登録できません", INVALID_STATE),
    "api_key_exists": M(409, "API key already exists", "API キーは既に存在します", ALREADY_EXISTS),
    "api_key_revoked": M(409, "API key has been revoked", "API キーは失効しています",
                         INVALID_STATE),
    "organization_suspended_no_keys": M(
        409, "a suspended organization cannot get new API keys",
        "停止中の組織には新しい API キーを発行できません", INVALID_STATE),
    "oauth_client_name_invalid": M(422, "name must be 1-255 characters",
                                   "名前は 1〜255 文字で指定してください", INVALID_VALUE),
    "redirect_uri_invalid": M(
        422, "{value!r} is not an https (or http://localhost) URI without a fragment",
        "{value!r} はフラグメントのない https (または http://localhost) の URI ではありません",
        INVALID_VALUE),
    "redirect_uri_required": M(422, "the authorization_code grant needs at least one redirect URI",
                               "authorization_code グラントには 1 つ以上のリダイレクト URI が必要です",
                               INVALID_VALUE),
    "redirect_uris_too_many": M(422, "at most {max} redirect URIs",
                                "リダイレクト URI は最大 {max} 件です", INVALID_VALUE),
    "scope_invalid": M(422, "{value!r} is not a scope like organizations:read",
                       "{value!r} は organizations:read のような形式のスコープではありません",
                       INVALID_VALUE),
    "scopes_too_many": M(422, "at most {max} scopes", "スコープは最大 {max} 件です", INVALID_VALUE),
    "grant_types_required": M(422, "at least one grant type is required",
                              "グラントタイプを 1 つ以上指定してください", INVALID_VALUE),
    "redirect_uri_mismatch": M(422, "redirectUri is not one of the client's redirect URIs",
                               "redirectUri がクライアントのリダイレクト URI と一致しません",
                               "validation_failed"),
    "scope_not_allowed": M(422, "the scope is not within the client's allowed scopes",
                           "スコープがクライアントに許可された範囲を超えています",
                           "validation_failed"),
    "grant_not_allowed": M(422, "this client may not use the authorization_code grant",
                           "このクライアントは authorization_code グラントを使用できません",
                           "validation_failed"),
    "organization_id_required": M(422, "organizationId is required",
                                  "organizationId を指定してください", "validation_failed"),
    "api_key_name_invalid": M(422, "name must be 1-255 characters",
                              "name は 1〜255 文字で指定してください", INVALID_VALUE),
    "api_key_too_many_permissions": M(422, "at most {max} permissions",
                                      "permissions は最大 {max} 件までです", INVALID_VALUE),
    "api_key_expiry_in_past": M(422, "expiresAt must be in the future",
                                "expiresAt には未来の日時を指定してください", INVALID_VALUE),
    "api_key_grace_out_of_range": M(422, "grace period must be between 0 and 7 days",
                                    "猶予期間は 0〜7 日の範囲で指定してください", INVALID_VALUE),
    "idempotency_not_supported": M(
        400, "this route issues a secret and does not accept an Idempotency-Key",
        "このルートはシークレットを発行するため Idempotency-Key を受け付けません"),
    "method_not_allowed": M(405, "this method is not allowed on this path",
                            "このパスではこのメソッドを使用できません"),
    "not_acceptable": M(406, "no acceptable representation is available",
                        "受け入れ可能な形式で応答できません"),
    "conflict": M(409, "the request conflicts with the current state",
                  "現在の状態と競合するため処理できません"),
    "already_exists": M(409, "it already exists", "すでに存在します"),
    "organization_already_exists": M(409, "organization already exists",
                                     "組織はすでに存在します", ALREADY_EXISTS),
    "slug_taken": M(409, "slug {slug!r} is already taken",
                    "スラッグ {slug!r} はすでに使用されています"),
    "invalid_state": M(409, "the command is not allowed in the current state",
                       "現在の状態ではこの操作はできません"),
    "organization_deleted": M(409, "organization has been deleted", "組織は削除されています",
                              INVALID_STATE),
    "organization_already_suspended": M(409, "organization is already suspended",
                                        "組織はすでに停止されています", INVALID_STATE),
    "organization_not_suspended": M(409, "only a suspended organization can be reactivated",
                                    "再開できるのは停止中の組織だけです", INVALID_STATE),
    "slug_not_held": M(409, "slug {slug!r} is not held by this organization",
                       "スラッグ {slug!r} はこの組織のものではありません", INVALID_STATE),
    "precondition_failed": M(412, "a precondition of the request (If-Match) failed",
                             "リクエストの前提条件 (If-Match) が満たされていません"),
    "version_conflict": M(
        412, "expected version {expected}, stream is at {actual}",
        "バージョン {expected} を想定していましたが、現在のバージョンは {actual} です"),
    "version_changed_concurrently": M(
        412, "expected version {expected}, but another write changed the stream first",
        "バージョン {expected} を想定していましたが、別の書き込みが先に変更しました",
        "version_conflict"),
    "too_much_contention": M(409, "the stream kept changing; try again",
                             "他の書き込みとの競合が続きました。もう一度お試しください"),
    "idempotency_key_in_use": M(409, "a request with this Idempotency-Key is still being processed",
                                "この Idempotency-Key のリクエストはまだ処理中です"),
    "payload_too_large": M(413, "the request body is too large", "リクエスト本文が大きすぎます"),
    "event_too_large": M(413, "the change would make an event of {size} bytes; at most {max} are "
                         "allowed", "この変更で作られるイベントは {size} バイトになります (上限は "
                         "{max} バイトです)", "payload_too_large"),
    "unsupported_media_type": M(415, "this content type is not supported",
                                "このコンテンツタイプには対応していません"),
    "validation_failed": M(422, "the request body is invalid", "リクエスト本文が正しくありません"),
    "invalid_value": M(422, "a value is not valid", "値が正しくありません"),
    "name_blank": M(422, "name must not be blank", "名前を空にすることはできません",
                    INVALID_VALUE),
    "name_too_long": M(422, "name is longer than {max} characters",
                       "名前は {max} 文字以内で指定してください", INVALID_VALUE),
    "slug_invalid": M(422, "slug must be 1-100 lowercase letters, digits or inner hyphens",
                      "スラッグは 1〜100 文字の英小文字・数字・ハイフンで指定してください。"
                      "先頭と末尾にハイフンは使えません", INVALID_VALUE),
    "suspend_reason_too_long": M(422, "reason is longer than {max}",
                                 "理由は {max} 文字以内で指定してください", INVALID_VALUE),
    "ip_whitelist_too_many": M(422, "too many ipWhitelist entries",
                               "ipWhitelist の項目が多すぎます", INVALID_VALUE),
    "ip_whitelist_invalid": M(422, "{value!r} is not an IP address or CIDR range",
                              "{value!r} は IP アドレスまたは CIDR 範囲ではありません",
                              INVALID_VALUE),
    "allowed_origins_too_many": M(422, "too many allowedOrigins",
                                  "allowedOrigins の項目が多すぎます", INVALID_VALUE),
    "session_timeout_out_of_range": M(
        422, "sessionTimeout must be between {min} and {max} minutes",
        "sessionTimeout は {min}〜{max} 分の範囲で指定してください", INVALID_VALUE),
    "data_retention_out_of_range": M(
        422, "dataRetention.{part} must be between {min} and {max} days",
        "dataRetention.{part} は {min}〜{max} 日の範囲で指定してください", INVALID_VALUE),
    "timezone_invalid": M(422, "timezone must be an IANA zone name",
                          "timezone には IANA のタイムゾーン名を指定してください", INVALID_VALUE),
    "allowed_origin_invalid": M(
        422, "{value!r} is not an origin like https://app.example.com (http or https, a host, "
        "an optional port; no path)", "{value!r} はオリジンではありません (例: "
        "https://app.example.com。http または https、ホスト、任意のポート。パスは不可)",
        INVALID_VALUE),
    "rate_limit_out_of_range": M(422, "{field} must be between 1 and {max}",
                                 "{field} には 1〜{max} の値を指定してください", INVALID_VALUE),
    "permission_too_large": M(
        422, "a permission is larger than the limits allow (a resource of at most {max} "
        "characters, at most 4 actions, bounded conditions)",
        "権限が上限を超えています (resource は {max} 文字まで、actions は 4 件まで、conditions "
        "にも上限があります)", INVALID_VALUE),
    "idempotency_key_reused": M(422, "this Idempotency-Key was used with different parameters",
                                "この Idempotency-Key は別のパラメータで使用済みです"),
    "payment_required": M(402, "payment is required to go on", "続行するには支払いが必要です"),
    "quota_exceeded_payment_required": M(
        402, "the {plan} plan's {quota} quota for {period} is used up; upgrade the plan to go on",
        "{plan} プランの {period} の {quota} の上限に達しました。続行するにはプランを"
        "アップグレードしてください", "payment_required"),
    "rate_limited": M(429, "rate limit exceeded; retry after {retry_after} s",
                      "レート制限を超えました。{retry_after} 秒後に再試行してください"),
    "headers_too_large": M(431, "the request headers are larger than {max} bytes",
                           "リクエストヘッダーが {max} バイトを超えています"),
    "internal_error": M(500, "internal server error", "サーバー内部でエラーが発生しました"),
    "service_unavailable": M(503, "the service is unavailable; try again shortly",
                             "サービスを利用できません。しばらくしてから再試行してください"),
    "not_caught_up": M(503, "the read model has not reached position {min_position} yet",
                       "読み取りモデルがまだ位置 {min_position} に達していません"),
    "rate_limiter_unavailable": M(
        503, "rate limiting is unavailable; try again shortly",
        "レート制限を利用できません。しばらくしてから再試行してください"),
    "error": M(0, "the request failed", "リクエストは失敗しました"),
    # Users, roles, sign-up, mail tokens, two-factor
    "invalid_credentials": M(401, "invalid email or password",
                             "メールアドレスまたはパスワードが正しくありません", "unauthorized"),
    "two_factor_required": M(401, "a two-factor code is required", "二要素認証コードが必要です",
                             "unauthorized"),
    "invalid_two_factor_code": M(401, "the two-factor code is not valid",
                                 "二要素認証コードが正しくありません", "unauthorized"),
    "user_suspended": M(403, "user is suspended", "ユーザーは停止されています", "forbidden"),
    "email_not_verified": M(403, "the email address is not verified yet",
                            "メールアドレスがまだ確認されていません", "forbidden"),
    "organization_not_active": M(403, "the organization is not active",
                                 "組織が有効ではありません", "forbidden"),
    "user_not_found": M(404, "user not found", "ユーザーが見つかりません", NOT_FOUND),
    "role_not_found": M(404, "role not found", "ロールが見つかりません", NOT_FOUND),
    "alert_rule_not_found": M(404, "alert rule not found", "アラートルールが見つかりません",
                              NOT_FOUND),
    "alert_already_firing": M(409, "the alert is already firing",
                              "アラートはすでに発火しています", INVALID_STATE),
    "alert_not_firing": M(409, "the alert is not firing", "アラートは発火していません",
                          INVALID_STATE),
    "user_exists": M(409, "user already exists", "ユーザーはすでに存在します", ALREADY_EXISTS),
    "role_exists": M(409, "role already exists", "ロールはすでに存在します", ALREADY_EXISTS),
    "email_taken": M(409, "this email address is already registered",
                     "このメールアドレスはすでに登録されています", ALREADY_EXISTS),
    "role_name_taken": M(409, "a role with this name already exists",
                         "この名前のロールはすでに存在します", ALREADY_EXISTS),
    "claim_not_held": M(409, "the value is not held by this owner",
                        "この値はこの所有者のものではありません", INVALID_STATE),
    "last_owner": M(409, "the organization's last owner cannot be removed, suspended or demoted",
                    "組織の最後のオーナーは削除・停止・降格できません", INVALID_STATE),
    "invitation_not_pending": M(409, "the invitation is not pending",
                                "この招待は保留中ではありません", INVALID_STATE),
    "user_already_suspended": M(409, "user is already suspended",
                                "ユーザーはすでに停止されています", INVALID_STATE),
    "user_not_suspended": M(409, "only a suspended user can be reactivated",
                            "再開できるのは停止中のユーザーだけです", INVALID_STATE),
    "user_not_active": M(409, "user has not accepted the invitation yet",
                         "ユーザーはまだ招待を承諾していません", INVALID_STATE),
    "two_factor_already_enabled": M(409, "two-factor authentication is already enabled",
                                    "二要素認証はすでに有効です", INVALID_STATE),
    "two_factor_not_pending": M(409, "no two-factor enrollment is pending",
                                "保留中の二要素認証の登録はありません", INVALID_STATE),
    "two_factor_not_enabled": M(409, "two-factor authentication is not enabled",
                                "二要素認証は有効になっていません", INVALID_STATE),
    "email_invalid": M(422, "email is not a valid address",
                       "email が正しいメールアドレスではありません", INVALID_VALUE),
    "user_name_too_long": M(422, "{field} is longer than {max} characters",
                            "{field} は {max} 文字以内で指定してください", INVALID_VALUE),
    "avatar_invalid": M(422, "avatar must be an http(s) URL of at most 2048 characters",
                        "avatar には 2048 文字以内の http(s) URL を指定してください",
                        INVALID_VALUE),
    "metadata_too_large": M(422, "metadata is larger than {max} bytes",
                            "metadata が {max} バイトを超えています", INVALID_VALUE),
    "role_invalid": M(422, "role must be owner, admin, member, viewer or a custom role's id",
                      "role には owner、admin、member、viewer またはカスタムロールの ID を"
                      "指定してください", INVALID_VALUE),
    "user_too_many_permissions": M(422, "at most {max} permissions",
                                   "permissions は最大 {max} 件までです", INVALID_VALUE),
    "password_policy": M(422, "password must be {min}-{max} characters",
                         "パスワードは {min}〜{max} 文字で指定してください", INVALID_VALUE),
    "two_factor_code_invalid": M(422, "the two-factor code is not valid",
                                 "二要素認証コードが正しくありません", INVALID_VALUE),
    "mail_token_invalid": M(422, "the token is not valid or has expired",
                            "トークンが無効か期限切れです", INVALID_VALUE),
    # Resource types
    "resource_type_not_found": M(404, "resource type not found",
                                 "リソースタイプが見つかりません", NOT_FOUND),
    "resource_type_exists": M(409, "a resource type named {name} already exists",
                              "{name} という名前のリソースタイプはすでに存在します", ALREADY_EXISTS),
    "resource_type_name_invalid": M(
        422, "a type name is a lowercase letter, then up to 62 lowercase letters, digits or"
        " underscores", "タイプ名は英小文字で始め、英小文字・数字・アンダースコアを 62 文字まで"
        "続けてください", INVALID_VALUE),
    "resource_type_description_too_long": M(422, "description is longer than {max} characters",
                                            "description は {max} 文字以内で指定してください",
                                            INVALID_VALUE),
    "schema_too_large": M(422, "the schema is larger than {max} bytes",
                          "スキーマが {max} バイトを超えています", INVALID_VALUE),
    "schema_too_deep": M(422, "the schema nests deeper than {max} levels",
                         "スキーマの入れ子が {max} 階層を超えています", INVALID_VALUE),
    "schema_invalid": M(422, "the schema is not a valid JSON Schema (draft 2020-12): {message}",
                        "スキーマが JSON Schema (draft 2020-12) として正しくありません: {message}",
                        INVALID_VALUE),
    "indexed_paths_invalid": M(422, "indexed is at most {max} distinct data paths like a.b_c",
                               "indexed には a.b_c のようなデータパスを重複なしで {max} 個まで"
                               "指定してください", INVALID_VALUE),
    "data_invalid": M(422, "the data does not match its type's schema: {message}",
                      "data がタイプのスキーマに合致しません: {message}", INVALID_VALUE),
    # Resources
    "resource_not_found": M(404, "resource not found", "リソースが見つかりません", NOT_FOUND),
    "resource_exists": M(409, "the resource already exists", "リソースはすでに存在します",
                         ALREADY_EXISTS),
    "resource_deleted": M(409, "the resource has been deleted", "リソースは削除されています",
                          INVALID_STATE),
    "resource_archived": M(409, "the resource is archived; restore it first",
                           "リソースはアーカイブされています。先に復元してください",
                           INVALID_STATE),
    "merge_patch_required": M(
        415, "a PATCH body is a JSON merge patch: Content-Type: application/merge-patch+json",
        "PATCH の本文は JSON マージパッチです: Content-Type: application/merge-patch+json",
        "unsupported_media_type"),
    "query_field_unknown": M(400, "{parameter}: {field} is not a field a query can use (data.<path>,"
                             " id, status, version, tags, labels.<key>, createdAt, updatedAt,"
                             " createdBy)",
                             "{parameter}: {field} はクエリで使えるフィールドではありません"
                             " (data.<path>, id, status, version, tags, labels.<key>,"
                             " createdAt, updatedAt, createdBy)", INVALID_PARAMETER),
    "query_operator_invalid": M(400, "{parameter}: the filter is <op>.<value>, op one of {allowed}",
                                "{parameter}: フィルタは <op>.<value> の形で、op は {allowed}"
                                " のいずれかです", INVALID_PARAMETER),
    "query_operator_not_for_field": M(400, "{parameter}: {op} does not apply to {field}",
                                      "{parameter}: {op} は {field} に使えません",
                                      INVALID_PARAMETER),
    "query_value_invalid": M(400, "{parameter}: the value is not a valid {field}",
                             "{parameter}: 値が {field} として正しくありません",
                             INVALID_PARAMETER),
    "query_too_many_filters": M(400, "at most {max} filters in one query",
                                "1 つのクエリのフィルタは最大 {max} 件です", INVALID_PARAMETER),
    "query_parameter_repeated": M(400, "{parameter} is given more than once",
                                  "{parameter} が複数回指定されています", INVALID_PARAMETER),
    "query_order_invalid": M(400, "order is <field>.asc|desc, at most {max} fields (not tags)",
                             "order は <field>.asc|desc の形で最大 {max} 件です (tags は不可)",
                             INVALID_PARAMETER),
    "query_limit_invalid": M(400, "limit is a whole number from 1 to {max}",
                             "limit には 1〜{max} の整数を指定してください", INVALID_PARAMETER),
    "query_select_invalid": M(400, "select is a comma-separated list of: {allowed}",
                              "select には次の項目をカンマ区切りで指定してください: {allowed}",
                              INVALID_PARAMETER),
    "query_expand_invalid": M(400, "expand is relationships.<type>[.<type>…], at most {max}"
                                   " types deep (parent, child, reference, dependency)",
                              "expand は relationships.<type>[.<type>…] の形で最大 {max}"
                              " 階層です (parent, child, reference, dependency)",
                              INVALID_PARAMETER),
    "as_of_time_invalid": M(400, "as_of must be an RFC 3339 time",
                            "as_of には RFC 3339 形式の日時を指定してください", INVALID_PARAMETER),
    "data_too_large": M(422, "data is larger than {max} bytes of canonical JSON",
                        "data が正規化 JSON で {max} バイトを超えています", INVALID_VALUE),
    "data_too_deep": M(422, "data nests deeper than {max} levels",
                       "data の入れ子が {max} 階層を超えています", INVALID_VALUE),
    "resource_metadata_too_large": M(
        422, "metadata is larger than the limits allow (at most {max} labels or annotations)",
        "metadata が上限を超えています (labels と annotations は最大 {max} 件)", INVALID_VALUE),
    "relationships_too_many": M(422, "at most {max} relationships",
                                "relationships は最大 {max} 件までです", INVALID_VALUE),
    "relationship_unknown": M(422, "a relationship names no resource of this organization",
                              "relationships にこの組織のリソースではないものが含まれています",
                              INVALID_VALUE),
    "relationship_cycle": M(422, "the parent relationships would form a cycle",
                            "親子関係が循環してしまいます", INVALID_VALUE),
    "relationship_too_deep": M(422, "a resource has at most {max} ancestors",
                               "リソースの祖先は最大 {max} 件です", INVALID_VALUE),
    "resource_has_dependents": M(409, "{count} resources depend on this one; delete them first"
                                      " or delete with cascade=true",
                                 "{count} 件のリソースがこのリソースに依存しています。先に削除するか"
                                 " cascade=true を指定してください", "conflict"),
    "cascade_too_large": M(409, "a cascade deletes at most {max} dependents",
                           "cascade で削除できる依存リソースは最大 {max} 件です", "conflict"),
    "external_key_invalid": M(
        422, "an external key is 1-{max} letters, digits or . _ : @ ~ -, starting with a"
        " letter or digit", "外部キーは英数字または . _ : @ ~ - の 1〜{max} 文字で、英数字で"
        "始めてください", INVALID_VALUE),
    "patch_invalid": M(422, "the patched resource is not valid: {message}",
                       "パッチ適用後のリソースが正しくありません: {message}", INVALID_VALUE),
    "alert_rule_name_invalid": M(422, "an alert rule's name is 1-{max} characters",
                                 "アラートルール名は 1〜{max} 文字で指定してください",
                                 INVALID_VALUE),
    "alert_rule_window_invalid": M(422, "window_seconds must be {min}-{max}",
                                   "window_seconds は {min}〜{max} で指定してください",
                                   INVALID_VALUE),
    "alert_rule_threshold_invalid": M(422, "a {metric} threshold must be 0-{max}",
                                      "{metric} のしきい値は 0〜{max} で指定してください",
                                      INVALID_VALUE),
    "alert_rule_route_invalid": M(
        422, "route must be a route template starting with /, at most {max} characters",
        "route は / で始まるルートテンプレートで、{max} 文字以内で指定してください",
        INVALID_VALUE),
    # Transactions and bulk operations
    "batch_item_incomplete": M(422, "this write needs {field}",
                               "この書き込みには {field} が必要です", INVALID_VALUE),
    "transaction_items_count": M(422, "a transaction has 1 to {max} items",
                                 "トランザクションの項目は 1〜{max} 件です", INVALID_VALUE),
    "bulk_items_count": M(422, "a bulk operation has 1 to {max} items",
                          "一括操作の項目は 1〜{max} 件です", INVALID_VALUE),
    "bulk_item_too_large": M(422, "an item is larger than {max} bytes",
                             "項目が {max} バイトを超えています", INVALID_VALUE),
    "bulk_operation_exists": M(409, "the bulk operation exists", "一括操作はすでに存在します",
                               ALREADY_EXISTS),
    "bulk_chunk_out_of_order": M(409, "the chunk is not the next one to apply",
                                 "このチャンクは次に適用するものではありません", INVALID_STATE),
    "bulk_operation_not_found": M(404, "bulk operation not found", "一括操作が見つかりません",
                                  NOT_FOUND),
    "role_name_invalid": M(422, "role name must be 1-{max} characters",
                           "ロール名は 1〜{max} 文字で指定してください", INVALID_VALUE),
    "role_name_reserved": M(422, "{name!r} is a system role's name",
                            "{name!r} はシステムロールの名前です", INVALID_VALUE),
    "role_description_too_long": M(422, "description is longer than {max} characters",
                                   "description は {max} 文字以内で指定してください",
                                   INVALID_VALUE),
    "role_too_many_permissions": M(422, "at most {max} permissions",
                                   "permissions は最大 {max} 件までです", INVALID_VALUE),
    # Webhooks
    "webhook_endpoint_not_found": M(404, "webhook endpoint not found",
                                    "Webhook エンドポイントが見つかりません", NOT_FOUND),
    "webhook_delivery_not_found": M(404, "webhook delivery not found",
                                    "Webhook の配信が見つかりません", NOT_FOUND),
    "webhook_endpoint_exists": M(409, "webhook endpoint already exists",
                                 "Webhook エンドポイントはすでに存在します", ALREADY_EXISTS),
    "webhook_url_invalid": M(
        422, "url must be an absolute http(s) URL with a host, without credentials or a"
        " fragment", "url は認証情報やフラグメントを含まない、ホスト付きの絶対 http(s) URL で"
        "指定してください", INVALID_VALUE),
    "webhook_url_forbidden": M(
        422, "url must reach a public address: {host} is or resolves to a private, loopback,"
        " link-local or reserved one", "url は公開アドレスを指す必要があります: {host} は"
        "プライベート、ループバック、リンクローカルまたは予約済みのアドレスです (または名前解決の"
        "結果がそうです)", INVALID_VALUE),
    "webhook_event_types_invalid": M(
        422, "eventTypes is 1 to {max} filters like *, resource.* or user.Invited",
        "eventTypes には *、resource.*、user.Invited のようなフィルターを 1〜{max} 個指定して"
        "ください", INVALID_VALUE),
    "webhook_description_too_long": M(422, "description is longer than {max} characters",
                                      "description は {max} 文字以内で指定してください",
                                      INVALID_VALUE),
    "webhook_replay_invalid": M(
        422, "a replay starts at exactly one of fromPosition or fromTime",
        "リプレイの開始点は fromPosition か fromTime のどちらか一方で指定してください",
        INVALID_VALUE),
}


def negotiate(accept_language: str | None) -> str:
    """Our best language for an Accept-Language header (q-values honoured); English if none fits.

    Ties go to the range listed first; `*` means the default; q=0 means "not this one".
    """
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for item in (accept_language or "").split(",")[:MAX_RANGES]:
        tag, _, params = item.partition(";")
        primary = tag.strip().lower().split("-", 1)[0]
        if primary != "*" and primary not in LANGUAGES:
            continue
        q = _quality(params)
        if q > best_q:
            best, best_q = DEFAULT_LANGUAGE if primary == "*" else primary, q
    return best


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0


class _Params(dict[str, object]):
    """Leaves a placeholder visible rather than failing while an error is being reported."""

    def __missing__(self, key: str) -> str:
        return f"{{{key}}}"


def render(key: str, language: str, params: Mapping[str, object] | None = None) -> str | None:
    """The message for ``key`` in ``language`` (English unless "ja"), or None if not a known key."""
    entry = CATALOG.get(key)
    if entry is None:
        return None
    template = entry.ja if language == "ja" else entry.en
    try:
        return template.format_map(_Params(params or {}))
    except (ValueError, IndexError, AttributeError):
        return template


def localize(key: str, language: str, params: Mapping[str, object] | None = None,
             fallback: str = "") -> tuple[str, str]:
    """(message, language it is in): the catalog's text, else the raiser's English fallback."""
    text = render(key, language, params)
    if text is None:
        return fallback or key, DEFAULT_LANGUAGE
    return text, language


def placeholders(template: str) -> set[str]:
    """The named parameters a template uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def codes_table() -> str:
    """The README's table of error codes, generated from the catalog."""
    rows = ["| status | `reason` | sent as `code` | English message |", "|---|---|---|---|"]
    def order(item: tuple[str, Message]) -> tuple[int, str, bool, str]:
        key, entry = item  # by status, then each broad code followed by its reasons
        return entry.status or 999, entry.code or key, bool(entry.code), key

    for key, entry in sorted(CATALOG.items(), key=order):
        status = str(entry.status) if entry.status else "other"
        text = entry.en.replace("!r}", "}").replace("<", "&lt;").replace("|", "\\|")
        rows.append(f"| {status} | `{key}` | `{entry.code or key}` | {text} |")
    return "\n".join(rows)


def rewrite_readme(path: str = "README.md") -> None:
    """Replace the README's error table with the one generated from the catalog."""
    import re

    with open(path, encoding="utf-8") as f:
        text = f.read()
    table = re.compile(r"^\| status \| `reason` \|.*?(?=\n(?!\|))", re.S | re.M)
    text, count = table.subn(lambda _m: codes_table(), text, count=1)
    if count != 1:
        raise SystemExit(f"no error table found in {path}")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--write-readme"]:
        rewrite_readme()
    else:
        print(codes_table())
