"""The canonical profile model: typed objects, their data categories, dict and XML codecs."""

from gateway.model.categories import category_of, field_categories
from gateway.model.dictcodec import from_dict, to_dict
from gateway.model.profile import (
    AddressType,
    Channel,
    ChannelPreference,
    Consent,
    ConsentStatus,
    ContactType,
    CreditStatus,
    DataCategory,
    Email,
    FinancialSummary,
    Gender,
    Identifier,
    Metadata,
    Organization,
    Person,
    Phone,
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
    "AddressType", "Channel", "ChannelPreference", "Consent", "ConsentStatus", "ContactType",
    "CreditStatus", "DataCategory", "Email", "FinancialSummary", "Gender", "Identifier",
    "Metadata", "Organization", "Person", "Phone", "PhoneType", "PostalAddress", "Preferences",
    "Profile", "Purpose", "Recipient", "WebPresence", "WebType", "category_of",
    "field_categories", "from_dict", "to_dict",
]
