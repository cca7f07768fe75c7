//! The one table of stable error codes. Codes are grouped by the stage that
//! reports them and are never reused; `docs/errors.md` documents each one and a
//! test keeps the two in step.

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $title:literal;)*) => {
        /// Every kind of user mistake bomc reports.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// Whether it is a warning (`W` code): bomc went on, having changed or ignored something.
            pub fn is_warning(self) -> bool {
                self.code().starts_with('W')
            }

            /// The stable code, e.g. `E0302`.
            pub fn code(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// A one-line title for the docs.
            pub fn title(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $title,)*
                }
            }
        }
    };
}

error_codes! {
    // Syntax
    Syntax = "E0101", "syntax error";
    InvalidEscape = "E0102", "invalid escape sequence in a string";
    NumberOutOfRange = "E0103", "number literal too large";
    UnknownType = "E0104", "unknown type in a parameter declaration";
    // Limits: what keeps a hostile file from hanging or exhausting bomc
    FileTooLarge = "E0105", "file larger than bomc reads";
    ValueTooLarge = "E0106", "evaluated string, list or map larger than the limit";
    TooManyComponents = "E0107", "more components than the limit";
    InvalidUtf8 = "E0108", "file is not UTF-8 text";
    NulByte = "E0109", "NUL byte in a file";
    // Resolution
    ModuleNotFound = "E0201", "imported module not found";
    ImportCycle = "E0202", "import cycle";
    DuplicateDefinition = "E0203", "name defined twice";
    UnknownKind = "E0204", "unknown component kind";
    UnknownName = "E0205", "unknown name in a reference";
    DuplicateComponent = "E0206", "two components with the same name";
    DuplicateParam = "E0207", "parameter declared twice";
    UnknownEnvironment = "E0208", "unknown environment";
    NoLandscape = "E0209", "file declares no landscape";
    UnknownAttribute = "E0210", "unknown attribute of a component";
    MisplacedMember = "E0211", "member not allowed here";
    RecursiveLandscape = "E0212", "landscape includes itself";
    UnknownOverrideTarget = "E0213", "environment overrides a component that does not exist";
    UnreadableFile = "E0214", "file cannot be read";
    AmbiguousLandscape = "E0215", "several landscapes and none chosen";
    LetClash = "E0216", "`let` clashes with another name in its scope";
    MisplacedNull = "E0217", "`null` where it removes no map key";
    ImportOutsideRoot = "E0230", "import leaves the project root";
    ImportTooDeep = "E0231", "imports nested deeper than the limit";
    ImagePathOutsideRoot = "E0232", "image build path leaves the project root";
    // Evaluation and checking
    MissingSetting = "E0301", "required setting or parameter missing";
    UnknownSetting = "E0302", "unknown setting";
    TypeMismatch = "E0303", "value has the wrong type";
    OutOfRange = "E0304", "value out of range";
    SecretAsString = "E0305", "secret used where a plain value is required";
    PortNotExposed = "E0306", "referenced port is not exposed";
    UnknownParameter = "E0307", "`--set` names an unknown parameter";
    InvalidParameterValue = "E0308", "`--set` value does not fit the parameter's type";
    DuplicateSetting = "E0309", "setting assigned twice";
    UnknownFunction = "E0310", "unknown function";
    BadArguments = "E0311", "wrong arguments to a function";
    NotInterpolable = "E0312", "list or map interpolated into a string";
    InvalidSecretName = "E0313", "invalid secret name";
    InvalidName = "E0314", "invalid name";
    CircularDefinition = "E0315", "value defined in terms of itself";
    InvalidValue = "E0316", "value not allowed for this setting";
    UnpinnedImage = "E0317", "image reference without a pinned version";
    // Lowering: what no target can run
    HealthNeedsCommand = "E0318", "probe health check on an image bomc does not build";
    HealthWithoutPort = "E0319", "health check on a component that serves no port";
    UnsupportedVersion = "E0320", "version the managed service does not offer";
    ProcessUnknown = "E0321", "image run through the secrets shim does not say what to run";
    HostPathMissing = "E0322", "host path not found";
    MountSource = "E0323", "mount without exactly one source";
    NoEquivalent = "E0324", "setting a target has no equivalent for";
    TargetMismatch = "E0325", "component uses one not built for the same target";
    ReferenceChainTooDeep = "E0326", "chain of references longer than bomc follows";
    GoBinaryUnknown = "E0327", "go image whose binary to run is not known";
    // Graph
    DependencyCycle = "E0401", "dependency cycle";
    UnknownNode = "E0402", "`bomc impact` names nothing in the landscape";
    // Build
    OutputNotWritable = "E0501", "output folder cannot be written";
    InvalidNow = "E0502", "`--now` is not an RFC 3339 time";
    NameNotValid = "E0503", "a name cannot be made valid for a target";
    BuildsNothing = "E0504", "`bomc build` has nothing to build";
    DockerfileExclusive = "E0505", "own Dockerfile with settings only bomc's Dockerfiles take";
    TemplateOverQuota = "E0506", "root template past a CloudFormation quota";
    OutputSymlink = "E0510", "symbolic link planted in the output folder";
    // Import: compose files read by `bomc import`
    ComposeUnreadable = "E0601", "compose file cannot be read";
    ComposeNotYaml = "E0602", "compose file is not valid YAML";
    NotCompose = "E0603", "file is not a compose file";
    ComposeValueInvalid = "E0604", "compose value has a shape compose does not accept";
    // Warnings: what bomc changed or ignored on its own
    SizedDown = "W0001", "ephemeral environment sized a component down";
    HealthAdjusted = "W0002", "health check setting moved into a target's limits";
    NotHonoured = "W0003", "setting a target cannot honour";
    ResourcesRounded = "W0004", "CPU or memory raised to a size the target offers";
    EndpointDiffers = "W0005", "address built by hand for a service reached differently on AWS";
    EngineSubstituted = "W0006", "managed service runs a compatible engine";
    LeftOut = "W0007", "component left out of a target";
    FloatingTag = "W0008", "image tag without a full version, allowed by the landscape";
    ImageOfAnotherEngine = "W0013", "managed kind's image names another engine";
    CommandDropped = "W0014", "command of a managed kind not run on a target";
    ServiceRenamed = "W0017", "compose service renamed to a valid component name";
    VariableFixed = "W0018", "compose variable replaced by the value compose gives it unset";
    ComposeKeyDropped = "W0019", "compose key not carried into the .bom";
    LoadBalancerQuota = "W0020", "load balancer past an Application Load Balancer quota";
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}
