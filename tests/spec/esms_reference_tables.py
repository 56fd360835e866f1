"""Facts taken from the vendor reference (shared/esms-zalo-api.md), written out as tables.

Section numbers (§) are the reference's. Where the spec took a documented decision (its
"Decision:" notes, answering the reference's §9 list), the table follows the decision and the
comment says so.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "/MainService.svc/json/"


@dataclass(frozen=True)
class Endpoint:
    number: str  # the row number of the reference's §1 index
    operation_id: str
    method: str
    path: str


# §1 endpoint index: method and path exactly as printed, trailing slash included.
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("1", "send_follower_message_v4", "POST", PREFIX + "SendZaloFollowerMessage_V4_post_json/"),
    Endpoint("2", "send_follower_message_v5", "POST", PREFIX + "SendZaloFollowerMessage_V5_post_json/"),
    Endpoint("3", "send_zns_v5", "POST", PREFIX + "SendZaloMessage_V5_post/"),
    Endpoint("4", "send_zns_v6", "POST", PREFIX + "SendZaloMessage_V6/"),
    Endpoint("5", "send_zns_by_uid", "POST", PREFIX + "SendZaloMessage_V6/zalo_uid/"),
    Endpoint("6", "send_zns_by_hashed_phone", "POST", PREFIX + "SendZaloMessage_V6/hash_phone/"),
    Endpoint("7", "send_zns_v4", "POST", PREFIX + "SendZaloMessage_V4_post_json/"),
    Endpoint("8", "send_multichannel_message", "POST", PREFIX + "MultiChannelMessage/"),
    Endpoint("9", "send_auto_generated_otp", "POST", PREFIX + "SendMessageAutoGenCode_V5"),
    Endpoint("10", "check_otp", "GET", PREFIX + "CheckCodeGen_V4_get"),
    Endpoint("11", "send_zns_bulk", "POST", PREFIX + "Send_zns_bulk_v4_post_json/"),
    Endpoint("12", "send_full_content_form", "POST", PREFIX + "SendMultipleMessage_V4_post/"),
    Endpoint("13", "send_full_content_json", "POST", PREFIX + "SendMultipleMessage_V4_post_json/"),
    Endpoint("14", "get_send_status", "GET", PREFIX + "GetSendStatus"),
    Endpoint("15", "get_receiver_status", "GET", PREFIX + "GetSmsReceiverStatus_get"),
    Endpoint("16", "get_sent_data", "POST", PREFIX + "GetSmsSentData_V2"),
    Endpoint("17", "get_callback_data", "POST", "/ZaloCallback/GetCallback"),
    Endpoint("18", "get_zalo_message_status", "POST", PREFIX + "GetZaloMessageStatus"),
    Endpoint("19", "query_zns_status", "POST", PREFIX + "QueryZnsStatus/"),
    Endpoint("20", "estimate_zns_price", "POST", PREFIX + "SummaryZaloMessage_V4_post_json/"),
    Endpoint("21", "get_balance", "POST", PREFIX + "GetBalance_json"),
    Endpoint("22", "list_oas", "POST", PREFIX + "ZNS/GetListZOA/"),
    Endpoint("23", "list_templates", "POST", PREFIX + "GetTemplate/"),
    Endpoint("24", "get_template_info", "GET", PREFIX + "GetZnsTemplateInfo"),
    Endpoint("25", "get_quota", "POST", PREFIX + "ZNS/GetQuota/"),
    Endpoint("26", "get_quality", "POST", PREFIX + "ZNS/GetQuality/"),
    Endpoint("27", "get_ratings", "POST", PREFIX + "ZNS/GetRating/"),
    Endpoint("28", "get_followers", "POST", PREFIX + "ZNS/GetFollowers/"),
    Endpoint("29", "query_uid_list", "POST", PREFIX + "QueryListUID/"),
    Endpoint("30", "register_zns_template", "POST", PREFIX + "RegisZNSTemplateJson/"),
    Endpoint("31", "register_oa_package", "POST", PREFIX + "RegisOAPackageJson/"),
)

STATUS_HOST = "https://status-sms.esms.vn"
STATUS_HOST_OPERATION = "get_callback_data"


@dataclass(frozen=True)
class Fields:
    """The request fields the reference documents for one object of one operation.

    `schema` is None for the operation's own request (body, or query parameters of a GET);
    otherwise the name of the component schema of a nested object, which must be reachable
    from the operation's request.
    """

    section: str
    operation_id: str
    schema: str | None
    required: frozenset[str]
    optional: frozenset[str] = frozenset()


def _f(section, operation_id, required, optional="", schema=None) -> Fields:
    return Fields(section, operation_id, schema, frozenset(required.split()), frozenset(optional.split()))


CREDS = "ApiKey SecretKey "

REQUEST_FIELDS: tuple[Fields, ...] = (
    # §3.1/§3.2. Template_type (Y in the media form) and Url are optional because the text form
    # shares the body (spec Decision §9 #39, #40); Sandbox appears only in one VI sample.
    _f("3.1, 3.2", "send_follower_message_v4", CREDS + "OAID User_id Content", "RequestId CallbackUrl Template_type Url Sandbox"),
    # §3.3 envelope; SendDate (VI) and Sandbox (transaction page) on every variant: Decision §9 #50, #51.
    _f("3.3", "send_follower_message_v5", CREDS + "OAID Payload", "RequestId CallbackUrl SendDate Sandbox"),
    _f("3.3", "send_follower_message_v5", "recipient message", schema="FollowerPayload"),
    _f("3.4", "send_follower_message_v5", "text attachment", schema="MediaMessage"),
    _f("3.4", "send_follower_message_v5", "template_type elements", schema="MediaPayload"),
    _f("3.4", "send_follower_message_v5", "media_type url", schema="MediaElement"),
    _f("3.5", "send_follower_message_v5", "text attachment", schema="ButtonsMessage"),
    _f("3.5", "send_follower_message_v5", "buttons", schema="ButtonsPayload"),
    _f("3.5", "send_follower_message_v5", "title type payload", schema="OpenUrlButton"),
    _f("3.5", "send_follower_message_v5", "title type payload", schema="QueryShowButton"),
    _f("3.5", "send_follower_message_v5", "title type payload", schema="QueryHideButton"),
    _f("3.5", "send_follower_message_v5", "title type payload", schema="OpenSmsButton"),
    _f("3.5", "send_follower_message_v5", "title type payload", schema="OpenPhoneButton"),
    _f("3.6", "send_follower_message_v5", "attachment", schema="TransactionMessage"),
    _f("3.6", "send_follower_message_v5", "template_type elements", "language buttons", schema="TransactionPayload"),
    _f("3.6", "send_follower_message_v5", "type image_url", schema="BannerElement"),
    _f("3.6", "send_follower_message_v5", "type content", "align", schema="HeaderElement"),
    _f("3.6", "send_follower_message_v5", "type content", "align", schema="TextElement"),
    _f("3.6", "send_follower_message_v5", "type content", schema="TableElement"),
    _f("3.6", "send_follower_message_v5", "key value", "style", schema="TableRow"),
    # image_icon is marked Y, yet may be empty: optional by Decision §9 #44.
    _f("3.6", "send_follower_message_v5", "title type payload", "image_icon", schema="TransactionOpenUrlButton"),
    _f("3.6", "send_follower_message_v5", "title type payload", "image_icon", schema="TransactionQueryShowButton"),
    _f("3.6", "send_follower_message_v5", "title type payload", "image_icon", schema="TransactionQueryHideButton"),
    _f("3.6", "send_follower_message_v5", "title type payload", "image_icon", schema="TransactionOpenSmsButton"),
    _f("3.6", "send_follower_message_v5", "title type payload", "image_icon", schema="TransactionOpenPhoneButton"),
    _f("3.7", "send_follower_message_v5", "attachment", schema="RequestUserInfoMessage"),
    _f("3.7", "send_follower_message_v5", "template_type elements", schema="RequestUserInfoPayload"),
    _f("3.7", "send_follower_message_v5", "title subtitle image_url", schema="RequestUserInfoElement"),
    # §4
    _f("4.1", "send_zns_v5", CREDS + "OAID Phone TempData TempID", "SendDate campaignid RequestId Sandbox CallbackUrl SendingMode"),
    _f("4.2", "send_zns_v6", CREDS + "OAID Phone TempData TempID", "SendDate campaignid RequestId Sandbox CallbackUrl SendingMode"),
    _f("4.3", "send_zns_by_uid", CREDS + "OAID ZaloUid TempData TempID", "SendDate campaignid RequestId Sandbox CallbackUrl"),
    _f("4.4", "send_zns_by_hashed_phone", CREDS + "OAID HashPhone TempData TempID", "SendDate campaignid Sandbox CallbackUrl SendingMode RequestId"),
    # IsJourney and OrderId are conditional (needed for journeys only): Decision §9 #41.
    _f("4.5", "send_zns_v4", CREDS + "Phone Params TempID OAID", "SendDate Sandbox RequestId campaignid CallbackUrl SendingMode IsJourney OrderId"),
    # §5
    _f("5.1", "send_multichannel_message", CREDS + "Phone Channels Data"),
    _f("5.1", "send_multichannel_message", "TempID Params OAID", "campaignid CallbackUrl RequestId Sandbox SendingMode", schema="MultiChannelZnsLeg"),
    _f("5.1", "send_multichannel_message", "Content SmsType Brandname", "IsUnicode CallbackUrl RequestId Sandbox", schema="MultiChannelSmsLeg"),
    _f("5.2", "send_auto_generated_otp", CREDS + "Phone MultiChannelTempId TypeId", "TimeAlive"),
    _f("5.3", "check_otp", CREDS + "Phone Code"),
    # §6. SendingMode is listed on 6.2/6.3 only to say it does not apply; the spec leaves it out.
    _f("6.1", "send_zns_bulk", CREDS + "OAID TempID Data", "campaignid Sandbox SendDate CallbackUrl SendingMode"),
    _f("6.1", "send_zns_bulk", "Phone Params", "RequestId", schema="ZnsBulkItem"),
    _f("6.2", "send_full_content_form", CREDS + "Phone OAID Content Smstype"),
    _f("6.3", "send_full_content_json", CREDS + "Phone OAID Content SmsType", "RequestId IsUnicode"),
    # §7
    _f("7.1", "get_send_status", CREDS + "RefId"),
    _f("7.2", "get_receiver_status", CREDS + "RefId"),
    _f("7.3", "get_sent_data", CREDS + "SmsType From To Page PageSize"),
    _f("7.4", "get_callback_data", CREDS + "ListRefid OAId"),
    _f("7.5", "get_zalo_message_status", CREDS + "OAID MessageId"),
    _f("7.6", "query_zns_status", CREDS + "SmsId SmsType"),
    _f("7.7", "estimate_zns_price", CREDS + "Phone Params TempID OAID"),
    # §8
    _f("8.1", "get_balance", CREDS),
    _f("8.2", "list_oas", CREDS),
    _f("8.3", "list_templates", CREDS + "OAId SmsType"),
    _f("8.4", "get_template_info", CREDS + "TemplateId OAId"),
    _f("8.5", "get_quota", CREDS + "OAID"),
    _f("8.6", "get_quality", CREDS + "OAID"),
    _f("8.7", "get_ratings", CREDS + "OAID TemplateID FromTime ToTime Offset Limit"),
    # The page size is `Count` as the sample sends it, not the table's `Limit`: Decision §9 #17.
    _f("8.8", "get_followers", CREDS + "OAID Offset Count"),
    _f("8.9", "query_uid_list", CREDS + "OAID Offset Count FromDate ToDate", "IsFollower TagName"),
    # Body spellings ImageUrl, CTA1, CTA2: Decision §9 #18.
    _f("8.10", "register_zns_template", CREDS + "Content ImageUrl OAID SmsType", "CTA1 CTA2 CallbackUrl"),
    # `Duaration` (sic): Decision §9 #20.
    _f("8.11", "register_oa_package", CREDS + "Dateactive Duaration OAID Package"),
)

# §2.15: the query parameters of the delivery callback, in the samples' exact case.
CALLBACK_QUERY_PARAMETERS = frozenset(
    "SMSID SendFailed SendStatus SendSuccess TotalPrice TotalReceiver TotalSent RequestId "
    "TypeId telcoid phonenumber partnerids error_info oaid tempid switchsmsid".split()
)

# §2.4: the result-code field of each operation's answer and its JSON type in the samples.
_CODE_RESULT_OPERATIONS = [e.operation_id for e in ENDPOINTS if int(e.number) <= 13] + [
    "get_receiver_status", "get_sent_data", "get_zalo_message_status", "query_zns_status",
    "estimate_zns_price", "list_oas", "list_templates", "get_quota", "get_quality", "get_ratings",
    "get_followers", "query_uid_list", "register_zns_template", "register_oa_package",
]
RESULT_CODE_FIELD: dict[str, tuple[str, str]] = {op: ("CodeResult", "string") for op in _CODE_RESULT_OPERATIONS}
RESULT_CODE_FIELD.update({
    "get_balance": ("CodeResponse", "string"),
    "get_send_status": ("CodeResponse", "string"),
    "get_callback_data": ("Code", "integer"),
    "get_template_info": ("Error", "integer"),
})

# §2.14: every code of both error tables, plus the codes seen only in samples.
REFERENCE_RESULT_CODES = frozenset(
    "99 100 101 102 103 104 105 106 107 108 110 115 118 120 124 140 143 146 160 163 171 177 199 "
    "201 204 210 300 301 687 789 790 791 799 801 802 851 854 "
    "117 161 162 852 853".split()
)

RESULT_CODE_FAMILIES = frozenset(
    {"success", "authorization", "balance", "template", "duplicate_request", "oa", "payload", "not_found", "rate_limit"}
)

TRANSACTION_TEMPLATE_TYPES = frozenset(
    "transaction_billing transaction_order transaction_reward transaction_contract "
    "transaction_booking transaction_membership transaction_event transaction_transaction "
    "transaction_account transaction_internal transaction_partnership transaction_education "
    "transaction_rating".split()
)
FOLLOWER_TEMPLATE_TYPES = TRANSACTION_TEMPLATE_TYPES | {"media", "request_user_info"}
MEDIA_TYPES = frozenset({"image", "gif"})
BUTTON_TYPES = frozenset({"oa.open.url", "oa.query.show", "oa.query.hide", "oa.open.sms", "oa.open.phone"})
ELEMENT_TYPES = frozenset({"banner", "header", "text", "table"})
SANDBOX_VALUES = frozenset({"0", "1"})
SENDING_MODE_VALUES = frozenset({"1", "3"})

# §2.8, §2.10: the operations whose request documents Sandbox / SendingMode (at any depth).
SANDBOX_OPERATIONS = frozenset(
    "send_follower_message_v5 send_zns_v5 send_zns_v6 send_zns_by_uid send_zns_by_hashed_phone "
    "send_zns_v4 send_multichannel_message send_zns_bulk".split()
)
SENDING_MODE_OPERATIONS = frozenset(
    "send_zns_v5 send_zns_v6 send_zns_by_hashed_phone send_zns_v4 send_multichannel_message send_zns_bulk".split()
)


@dataclass(frozen=True)
class Limit:
    section: str
    operation_id: str
    schema: str | None  # None: the operation's request object
    field: str  # dotted for a nested property: "payload.content"
    keyword: str  # maxLength or maxItems
    value: int


# Size limits the reference documents, as the schema keyword that must carry them.
LIMITS: tuple[Limit, ...] = (
    Limit("3.1", "send_follower_message_v4", None, "Content", "maxLength", 2000),
    Limit("3.4", "send_follower_message_v5", "MediaMessage", "text", "maxLength", 2000),
    Limit("3.5", "send_follower_message_v5", "ButtonsMessage", "text", "maxLength", 2000),
    Limit("3.6", "send_follower_message_v5", "TransactionPayload", "buttons", "maxItems", 4),
    Limit("3.6", "send_follower_message_v5", "TableElement", "content", "maxItems", 5),
    Limit("3.5", "send_follower_message_v5", "OpenUrlButton", "title", "maxLength", 100),
    Limit("3.5", "send_follower_message_v5", "QueryShowButton", "payload", "maxLength", 1000),
    Limit("3.5", "send_follower_message_v5", "QueryHideButton", "payload", "maxLength", 1000),
    Limit("3.5", "send_follower_message_v5", "OpenSmsButton", "payload.content", "maxLength", 160),
    # Transaction button titles: 35 (the buttons table), Decision §9 #42.
    Limit("3.6", "send_follower_message_v5", "TransactionOpenUrlButton", "title", "maxLength", 35),
    Limit("3.6", "send_follower_message_v5", "HeaderElement", "content", "maxLength", 100),
    Limit("3.6", "send_follower_message_v5", "TextElement", "content", "maxLength", 250),
    Limit("3.6", "send_follower_message_v5", "TableRow", "key", "maxLength", 25),
    Limit("3.6", "send_follower_message_v5", "TableRow", "value", "maxLength", 100),
    Limit("3.7", "send_follower_message_v5", "RequestUserInfoElement", "title", "maxLength", 100),
    Limit("3.7", "send_follower_message_v5", "RequestUserInfoElement", "subtitle", "maxLength", 500),
    Limit("4.3", "send_zns_by_uid", None, "ZaloUid", "maxLength", 20),
    Limit("4.1", "send_zns_v5", None, "campaignid", "maxLength", 254),
    Limit("6.1", "send_zns_bulk", None, "Data", "maxItems", 500),
)
REQUEST_ID_MAX_LENGTH = 50
TEXT_MAX_LENGTH = 2000


def _numbers(text: str) -> frozenset[str]:
    """'1-8 11 13' -> the endpoint numbers 1..8, 11 and 13 (as strings)."""
    numbers = set()
    for part in text.split():
        low, _, high = part.partition("-")
        numbers |= {str(n) for n in range(int(low), int(high or low) + 1)}
    return frozenset(numbers)


ALL = "1-31"
SENDS = "1-9 11-13"  # §2.14's "sends": the send endpoints of §1
REQUEST_ID_SENDS = "1-8 11 13"  # §2.7 "Where accepted"

# §2.14, last column ("Zalo endpoints concerned"), plus the sample-only codes of the second
# table: code -> the §1 endpoint numbers that must list it. Codes whose scope is another
# product (voice, advertising SMS, ...) concern no Zalo endpoint and are left out.
# 300 is "all types" in EN but only SMS/Viber in VI; the spec lists it on the sends.
CODES_BY_ENDPOINT: dict[str, frozenset[str]] = {
    "99": _numbers("3 4 6 7 8 11-13"),
    "100": _numbers(ALL),
    "101": _numbers(ALL),
    "102": _numbers(SENDS),
    "103": _numbers(SENDS),
    "104": _numbers("8"),
    "105": _numbers("14 15 16"),
    "108": _numbers("3 4 6 7 8 11-13"),
    "110": _numbers("11"),
    "115": _numbers("6"),
    "117": _numbers("10"),
    "118": _numbers(SENDS),
    "124": _numbers(REQUEST_ID_SENDS),
    "140": _numbers(ALL),
    "143": _numbers(ALL),
    "146": _numbers("8"),
    "160": _numbers("18"),
    "161": _numbers("29"),
    "162": _numbers("29"),
    "171": _numbers("10"),
    "177": _numbers("8"),
    "199": _numbers("30 31"),
    "201": _numbers("8"),
    "204": _numbers("1-8 11-13"),
    "210": _numbers("1 2"),
    "300": _numbers(SENDS),
    "687": _numbers("11"),
    "789": _numbers("1-8 11 13"),
    "790": _numbers("3-8 11"),
    "791": _numbers("3-8 11"),
    "799": _numbers("3-8 11"),
    "801": _numbers("3 4 6 7 8 11"),
    "802": _numbers("3 4 6 7 8 11"),
    "851": _numbers("18 19"),
    "852": _numbers("5"),
    "853": _numbers("5"),
    "854": _numbers("19"),
}
