"""The canonical profile model: typed objects, their data categories, dict and XML codecs."""

from gateway.model.categories import category_of, field_categories
from gateway.model.dictcodec import from_dict, to_dict
from gateway.model.profile import (
    Account,
    AddressType,
    Channel,
    ChannelPreference,
    Consent,
    ConsentStatus,
    ContactPerson,
    ContactType,
    CreditStatus,
    CustomAttribute,
    DataCategory,
    Email,
    Employment,
    FinancialSummary,
    Gender,
    Identifier,
    Metadata,
    Organization,
    Person,
    Phone,
    PhoneQuality,
    PhoneType,
    PostalAddress,
    Preferences,
    Profile,
    Purpose,
    Recipient,
    WebPresence,
    WebType,
)

__all__ = [
    "Account",
    "AddressType",
    "Channel",
    "ChannelPreference",
    "Consent",
    "ConsentStatus",
    "ContactPerson",
    "ContactType",
    "CreditStatus",
    "CustomAttribute",
    "DataCategory",
    "Email",
    "Employment",
    "FinancialSummary",
    "Gender",
    "Identifier",
    "Metadata",
    "Organization",
    "Person",
    "Phone",
    "PhoneQuality",
    "PhoneType",
    "PostalAddress",
    "Preferences",
    "Profile",
    "Purpose",
    "Recipient",
    "WebPresence",
    "WebType",
    "category_of",
    "field_categories",
    "from_dict",
    "to_dict",
]

# XML codecs (CPEX profile format 1.0 and the exchange envelope 1.0).
from gateway.model.namespaces import CPEX_EXCHANGE_NS, CPEX_PROFILE_NS
from gateway.model.xmlcodec import (
    profile_from_element,
    profile_to_bytes,
    profile_to_element,
)

__all__ += [
    "CPEX_EXCHANGE_NS", "CPEX_PROFILE_NS", "profile_from_element", "profile_to_bytes",
    "profile_to_element",
]
